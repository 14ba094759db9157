"""Resources: kinds, files, short forms, decoding, validation and references."""
