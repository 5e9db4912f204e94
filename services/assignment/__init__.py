"""Assignment: matches each patient with a peer support specialist and tracks the assignment."""
