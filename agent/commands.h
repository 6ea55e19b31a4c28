/* The snug-agent subcommands: each takes argc/argv starting at its own name and returns an exit status. */
#pragma once

int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_oomwatch(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_webhook(int argc, char **argv);
