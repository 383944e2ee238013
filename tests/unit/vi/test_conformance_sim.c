/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ef_vi conformance suite (tests/harness/conformance_cases.h) on the
 * sim backend: no kernel, no root. ANYLOAD_BACKEND=sim is set before
 * anything else; one perfect simulated link (cfA-cfB, MTU 1500, no
 * latency, no loss) joins end A (cfA, 198.18.0.1) and ends B and B2
 * (cfB, 198.18.0.2), and time is the virtual clock: a wait that finds
 * nothing moves it on by 100 us, so no case takes wall time to wait. The
 * kernel-isolation case reports a skip (a sim interface has no kernel).
 */
#include "conformance_cases.h"

#include <anyload/sim.h>
#include <arpa/inet.h>
#include <stdlib.h>

static int64_t sim_now(struct conf_env* env)
{
  (void)env;
  return anyload_sim_clock_now();
}

static void sim_advance(struct conf_env* env, int64_t ns)
{
  int rc = anyload_sim_clock_advance(ns);

  (void)env;
  if (rc < 0)
    UNIT_FAIL("anyload_sim_clock_advance(%lld) = %d", (long long)ns, rc);
}

static void sim_end(struct conf_end* e, const char* label, const char* ifname,
                    const char* ip, int idx)
{
  e->label = label;
  e->ifname = ifname;
  e->ns = 0;
  e->ip_be = inet_addr(ip);
  e->anchor_port = (uint16_t)(CONF_P_ANCHOR + idx);
}

int main(int argc, char** argv)
{
  struct conf_env* env = conf_env_get();
  int rc;

  if (setenv("ANYLOAD_BACKEND", "sim", 1) < 0) {
    perror("setenv");
    return 1;
  }
  rc = anyload_sim_clock_set(1000000000);
  if (rc == 0)
    rc = anyload_sim_link_create("cfA", "cfB", NULL);
  if (rc < 0) {
    printf("Bail out! cannot set up the sim link: %d (%s)\n", rc,
           strerror(-rc));
    return 1;
  }
  env->backend = "sim";
  env->has_kernel = 0;
  env->step_ns = 100000;
  env->wait_ns = 2000000000;
  env->quiet_ns = 1000000;
  env->enter = NULL;
  env->now = sim_now;
  env->advance = sim_advance;
  sim_end(&env->end[CONF_A], "A", "cfA", "198.18.0.1", CONF_A);
  sim_end(&env->end[CONF_B], "B", "cfB", "198.18.0.2", CONF_B);
  sim_end(&env->end[CONF_B2], "B2", "cfB", "198.18.0.2", CONF_B2);

  rc = unit__run(conf_tests, CONF_N_TESTS, argc, argv);
  conf_close(env);
  if (anyload_sim_link_destroy("cfA") < 0 && rc == 0) {
    printf("# a VI was left on the sim link\n");
    rc = 1;
  }
  return rc;
}
