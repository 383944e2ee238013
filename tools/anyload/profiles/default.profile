# no spinning: blocking calls sleep at once (least CPU; the stack still carries the traffic)
ANYLOAD_SPIN_USEC=0
ANYLOAD_NO_FAIL=1
