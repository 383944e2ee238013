# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# afpacket_test.sh: helpers for the AF_PACKET backend's integration tests
# (tests/integration/afpacket_*.sh). Source it after netns.sh and
# efvi_test.sh, and call afp_init after itest_init.
#
#   afp_init              builds progs/tc_list; sets AFP_MODE to the way
#                         the first VI on a fresh interface keeps its flows
#                         from the kernel: "tcx" (a program per VI, kernels
#                         >= 6.6) or "clsact" (one shared filter with
#                         heartbeats), from ANYLOAD_AFPACKET_TC or, when
#                         that is unset or "auto", the kernel
#   afp_claims NS IF      the number of anyload tc programs on IF's ingress
#                         (tcx programs named anyload_tc, plus 1 for the
#                         shared clsact filter)
#   afp_want N            what afp_claims says with N live VIs on a fresh
#                         interface in AFP_MODE: N for tcx; for clsact 1
#                         when N > 0, else 0
#   afp_expect_claims WHAT NS IF N   expect_eq of the two

if [[ -n "${AFPACKET_TEST__SOURCED:-}" ]]; then
	return 0
fi
AFPACKET_TEST__SOURCED=1

afp_init()
{
	local tcx

	itest_build tc_list
	tcx=$("$PROGS/tc_list" lo | sed -n 's/^TCX available=//p')
	case "${ANYLOAD_AFPACKET_TC:-auto}" in
	clsact) AFP_MODE=clsact ;;
	tcx)
		[[ "$tcx" == 1 ]] ||
			skip "ANYLOAD_AFPACKET_TC=tcx on a kernel without tcx"
		AFP_MODE=tcx
		;;
	*) if [[ "$tcx" == 1 ]]; then AFP_MODE=tcx; else AFP_MODE=clsact; fi ;;
	esac
	log "AF_PACKET tc mode: $AFP_MODE"
}

afp_claims()
{
	ip netns exec "$1" "$PROGS/tc_list" "$2" | sed -n 's/^CLAIMS n=//p'
}

afp_want()
{
	if [[ "$AFP_MODE" == tcx ]]; then
		echo "$1"
	elif (($1 > 0)); then
		echo 1
	else
		echo 0
	fi
}

afp_expect_claims()
{
	expect_eq "$1" "$(afp_claims "$2" "$3")" "$(afp_want "$4")"
}
