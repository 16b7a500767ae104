/* The commands of nrun: one line each, in the order and groups of `nrun --help`.
 *
 * To add a command:
 *   1. one line here: X("verb", nr_cmd_verb, "Group", "what it does"), and
 *   2. one file cli/verb.c (or the file of its group) defining
 *      int nr_cmd_verb(int argc, char **argv, nr_global *g), which parses its
 *      options with nr_opt_next() (cli/cli.h) so that `nrun verb --help` works.
 * The Makefile picks up every .c file in cli/; tests/e2e/cli_help.bats checks that the
 * new verb answers --help and that some tests/e2e/cli_*.bats file runs it.
 * A group of "" keeps a verb out of the help (internal entry points). */
#ifndef NR_COMMANDS_H
#define NR_COMMANDS_H

#define NR_COMMANDS(X) \
    X("run", nr_cmd_run, "Containers", "Create and start a container from an image") \
    X("create", nr_cmd_create, "Containers", "Create a container without starting it") \
    X("start", nr_cmd_start, "Containers", "Start created or stopped containers") \
    X("restart", nr_cmd_restart, "Containers", "Stop and start containers") \
    X("ps", nr_cmd_ps, "Containers", "List containers") \
    X("attach", nr_cmd_attach, "Containers", "Connect this terminal to a running -t container (ctrl-p ctrl-q detaches)") \
    X("exec", nr_cmd_exec, "Containers", "Run a command in a running container") \
    X("logs", nr_cmd_logs, "Containers", "Show a container's output") \
    X("stop", nr_cmd_stop, "Containers", "Stop running containers") \
    X("kill", nr_cmd_kill, "Containers", "Send a signal to running containers") \
    X("rm", nr_cmd_rm, "Containers", "Remove containers") \
    X("wait", nr_cmd_wait, "Containers", "Block until containers stop, print their exit codes") \
    X("rename", nr_cmd_rename, "Containers", "Rename a container") \
    X("port", nr_cmd_port, "Containers", "List a container's published ports") \
    X("cp", nr_cmd_cp, "Containers", "Copy files between a container and the host") \
    X("inspect", nr_cmd_inspect, "Containers", "Show containers or images as JSON") \
    X("pause", nr_cmd_pause, "Containers", "Freeze every process of running containers") \
    X("unpause", nr_cmd_unpause, "Containers", "Thaw the processes of paused containers") \
    X("diff", nr_cmd_diff, "Containers", "List a container's file changes against its image (A, C, D)") \
    X("export", nr_cmd_export, "Containers", "Write a container's whole filesystem as a tar") \
    X("commit", nr_cmd_commit, "Containers", "Make a new image from a container's changes") \
    X("container", nr_cmd_container, "Containers", "Manage containers: ls, run, stop, rm, prune, ... (docker's words)") \
    X("events", nr_cmd_events, "Containers", "Show container events as they happen (docker's events)") \
    X("deploy", nr_cmd_deploy, "Supervisor", "Move a container's ports to a new image, zero-downtime, with rollback") \
    X("update", nr_cmd_update, "Supervisor", "Same as deploy: update --image IMAGE NAME") \
    X("rollback", nr_cmd_rollback, "Supervisor", "Deploy the previous revision (or --to N) again") \
    X("history", nr_cmd_history, "Supervisor", "List a deployed container's revisions") \
    X("reload", nr_cmd_reload, "Supervisor", "Replace a container's workers one by one") \
    X("scale", nr_cmd_scale, "Supervisor", "Change a container's number of workers") \
    X("stats", nr_cmd_stats, "Supervisor", "CPU, memory, workers of running containers") \
    X("top", nr_cmd_top, "Supervisor", "Show a container's processes (--json: its workers)") \
    X("monit", nr_cmd_monit, "Supervisor", "A live view of a container's workers (q quits)") \
    X("loglevel", nr_cmd_loglevel, "Supervisor", "Set the console level of a container's workers, live") \
    X("dye", nr_cmd_dye, "Supervisor", "Log matching requests in full (request dyeing)") \
    X("dashboard", nr_cmd_dashboard, "Supervisor", "A web console: live workers, logs and actions in a browser") \
    X("images", nr_cmd_images, "Images", "List images") \
    X("rmi", nr_cmd_rmi, "Images", "Remove images") \
    X("tag", nr_cmd_tag, "Images", "Give an image another name") \
    X("image", nr_cmd_image, "Images", "Manage images: ls, rm, inspect, prune, tag, save, load") \
    X("pull", nr_cmd_pull, "Images", "Pull an image from a registry") \
    X("push", nr_cmd_push, "Images", "Push an image to a registry") \
    X("login", nr_cmd_login, "Images", "Log in to a registry") \
    X("logout", nr_cmd_logout, "Images", "Log out from a registry") \
    X("save", nr_cmd_save, "Images", "Write images to an OCI archive") \
    X("load", nr_cmd_load, "Images", "Read images from an OCI archive") \
    X("build", nr_cmd_build, "Images", "Build an image from a Nodefile (as nbuild)") \
    X("base", nr_cmd_base, "Images", "Make the base Node images now") \
    X("builder", nr_cmd_builder, "Images", "Manage the build cache: prune") \
    X("compose", nr_cmd_compose, "Other", "Run an app of several services from a compose file (docker compose's words)") \
    X("network", nr_cmd_network, "Other", "Manage networks: create, ls, inspect, rm, connect, disconnect") \
    X("volume", nr_cmd_volume, "Other", "Manage volumes: ls, inspect, create, rm, prune") \
    X("system", nr_cmd_system, "Other", "Disk usage (df), host and store (info), prune") \
    X("info", nr_cmd_info, "Other", "What the store holds and what this host is") \
    X("version", nr_cmd_version, "Other", "Show the version") \
    X("supervise", nr_cmd_supervise, "Other", "Run the supervisor on the host, without a container") \
    X("__internal", nr_cmd_internal, "", "entry points of nrun's own processes")

#endif
