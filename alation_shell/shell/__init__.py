"""Front ends over the session: the plain line reader and the prompt_toolkit REPL."""
