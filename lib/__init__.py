"""Training-run simulation for GPT models: GPTfluence, Simfluence, TracIn-CP and Grad-Dot."""
