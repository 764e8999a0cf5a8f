"""Front ends over the session: the plain line reader, the prompt_toolkit REPL, and the progress bar."""
