# many datagrams per second: larger rings and pool, short spin (20 us)
ANYLOAD_SPIN_USEC=20
ANYLOAD_MAX_PACKETS=16384
ANYLOAD_RXQ_SIZE=2048
ANYLOAD_TXQ_SIZE=2048
# native XDP also on veth, where auto picks generic for latency: iperf3
# 1.15 x the kernel's native, 0.73 x generic (kernel 6.18.44-fc-v1300)
ANYLOAD_XDP_MODE=prefer-native
