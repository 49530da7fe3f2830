"""Cross-node hint bus. Bus messages are hints ("events advanced to N for users U"); the store is the truth."""
