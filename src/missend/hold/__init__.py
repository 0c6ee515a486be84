"""The hold queue: messages kept back for review or for undo-send, and the notices about them."""
