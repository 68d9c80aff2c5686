package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mangabot/mangabot/config"
	_ "github.com/mangabot/mangabot/sites/all"
)

const usage = `usage: bot <command> [flags]

commands:
  demo [-o PATH]  fetch a sample chapter from a demo site on 127.0.0.1 (offline)
  fetch [-config F] [-o PATH] [-chapters SEL] [-lang CODE] [-quality Q] [-merge] [-overwrite] URL
                  download a chapter (or chapters of a series) into PDF files;
                  exit status 0: every page, 3: written but some pages failed,
                  1: nothing written, 2: bad usage
  run [-config F] start the Discord bot
  follow add|remove|list|check [-config F] ...
                  follow series from the shell; check prints new chapters
  sites [-config F]  list the supported sites, their link patterns and operator rules
  config-example  print a configuration file with every key and its default
  version         print the version
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "fetch":
		return cmdFetch(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "follow":
		return cmdFollow(ctx, rest, stdout, stderr)
	case "sites":
		return cmdSites(rest, stdout, stderr)
	case "config-example":
		return cmdConfigExample(stdout)
	case "version", "-version", "--version":
		return cmdVersion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bot: unknown command %q\n%s", cmd, usage)
	return 2
}

// fail prints err as one clear line, "bot: " and the error, which names
// its operation itself ("bot: open job store: ..."): no stack traces, no
// prefix repeated by each layer.
func fail(stderr io.Writer, err error) int {
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "cancelled"
	}
	fmt.Fprintln(stderr, "bot: "+strings.ReplaceAll(msg, "\n", " "))
	return 1
}

// configFlag defines -config on fs (once).
func configFlag(fs *flag.FlagSet) {
	if fs.Lookup("config") == nil {
		fs.String("config", "", "config file (default ./config.toml if present)")
	}
}

func loadConfig(fs *flag.FlagSet, args []string, stderr io.Writer) (*config.Config, *flag.FlagSet, int) {
	configFlag(fs)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return nil, fs, 2
	}
	cfg, err := config.Load(fs.Lookup("config").Value.String())
	if err != nil {
		return nil, fs, fail(stderr, err)
	}
	return cfg, fs, 0
}
