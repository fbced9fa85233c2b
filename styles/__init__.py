"""penbot's shipped style library (installed as ``penbot.shipped_styles``): NN.json + NN.png."""
