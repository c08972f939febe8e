"""What the homework does not name: the course's runs and results, the training loop, the checker and the grader."""
