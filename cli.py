def main() -> None:
    print("vidgraph", __import__("vidgraph").__version__)
