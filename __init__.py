"""vidgraph: answer questions about long videos with perception tools, an event memory and LLM agents."""

__version__ = "0.1.0"
