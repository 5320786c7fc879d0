"""What the bot remembers between questions: the question log, votes and their reasons."""
