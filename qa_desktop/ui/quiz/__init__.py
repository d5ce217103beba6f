"""The quiz screen (``screen.QuizScreen``): taking a quiz, and the lead's results table."""
