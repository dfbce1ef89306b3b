"""Time and delivery: rhythm arithmetic, APScheduler wiring, the outbox delivery worker, leader election."""
