"""bizbot: cited answers about the business environment of Jiading and Nanhu."""

__version__ = "0.1.0"
