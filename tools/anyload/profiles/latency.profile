# lowest latency: blocking calls spin up to 100 ms before they sleep (one core per busy thread)
ANYLOAD_SPIN_USEC=100000
ANYLOAD_EVS_PER_POLL=64
