# many datagrams per second: larger rings and pool, short spin (20 us)
ANYLOAD_SPIN_USEC=20
ANYLOAD_MAX_PACKETS=16384
ANYLOAD_RXQ_SIZE=2048
ANYLOAD_TXQ_SIZE=2048
