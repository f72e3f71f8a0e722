"""Emitters: the entity model rendered as SQL, Mermaid and Markdown."""
