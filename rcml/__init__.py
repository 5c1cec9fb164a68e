"""Running calls: placing and changing them, fetching and running their RCML, reporting their progress."""
