/*
 * pause: the process that holds a pod sandbox's namespaces open.
 *
 * Usage: pause            (run as a pod's infra container; -v prints a version)
 *
 * Sleeps until SIGTERM or SIGINT (then exits 0) and, as PID 1 of a shared PID
 * namespace, reaps every child that exits so no zombies pile up.
 * Written for this project; built statically by hack/workarounds/no-registry/build-pause-image.sh.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "tf-serving-pause-1"

static volatile sig_atomic_t stop_requested;

static void on_stop(int signum) {
  (void)signum;
  stop_requested = 1;
}

static void on_child(int signum) {
  int saved_errno = errno;
  (void)signum;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved_errno;
}

static int install(int signum, void (*handler)(int)) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = handler;
  action.sa_flags = SA_RESTART | (signum == SIGCHLD ? SA_NOCLDSTOP : 0);
  sigemptyset(&action.sa_mask);
  return sigaction(signum, &action, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts(PAUSE_VERSION);
    return 0;
  }
  if (getpid() != 1) {
    fprintf(stderr, "pause: warning: not PID 1, children of other processes are not reaped\n");
  }
  if (install(SIGTERM, on_stop) != 0 || install(SIGINT, on_stop) != 0 ||
      install(SIGCHLD, on_child) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  while (!stop_requested) {
    pause();
  }
  return 0;
}
