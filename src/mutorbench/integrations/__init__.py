"""Using the suite's methods from other training code (Hugging Face Trainer, TRL)."""
