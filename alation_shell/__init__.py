"""alation-shell: an emulator of the Alation administration shell."""

__version__ = "0.1.0"
