"""Readers that turn one kind of attachment into text, each bounded by a shared `Budget`.

`dispatch.read_any` picks the reader from the content itself first (magic bytes), so a file whose
name or Content-Type lies is still read for what it is.
"""
