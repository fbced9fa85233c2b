"""Reading IAM-OnDB, cleaning it, and turning it into training batches."""
