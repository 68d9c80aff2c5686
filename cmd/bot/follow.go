package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mangabot/mangabot/config"
	"github.com/mangabot/mangabot/follow"
	"github.com/mangabot/mangabot/pipeline"
	"github.com/mangabot/mangabot/sites"
	"github.com/mangabot/mangabot/store"
)

const followUsage = `usage: bot follow <add|remove|list|check> [-config F] ...
  add [-config F] [-lang CODE] [-groups G1,G2] URL   follow a series (its chapters now are the baseline)
  remove [-config F] URL                             stop following it
  list [-config F]                                   the shell's follows: title and link, one a line
  check [-config F] [-once]                          print new chapters (title and link, one a line) and mark them seen;
                                                     without -once, keep checking at the configured intervals
`

// shellFollow selects the follows of the shell: those without a channel
// (the bot's own follows are delivered by the bot, never here).
func shellFollow(f *store.Follow) bool { return f.Channel == "" }

// printer delivers a found chapter by printing it.
type printer struct{ w io.Writer }

func (p printer) Deliver(_ context.Context, _ store.Follow, c store.Found) (string, error) {
	_, err := fmt.Fprintf(p.w, "%s\t%s\n", foundTitle(c), c.URL)
	return "", err
}

// foundTitle is "Series — Vol. 1 Ch. 12: Title", as downloads name files.
func foundTitle(c store.Found) string {
	return pipeline.ChapterTitle(&sites.Chapter{Series: c.Series, Volume: c.Volume, Number: c.Number, Title: c.Title, SourceURL: c.URL})
}

func cmdFollow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, followUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("follow "+sub, flag.ContinueOnError)
	var lang, groups *string
	var once *bool
	switch sub {
	case "add":
		lang = fs.String("lang", "", "translation language, e.g. en (default: the site's)")
		groups = fs.String("groups", "", "only chapters of these scanlation groups, comma-separated")
	case "check":
		once = fs.Bool("once", false, "check every follow once, then exit")
	case "remove", "list":
	default:
		fmt.Fprintf(stderr, "bot: unknown follow command %q\n%s", sub, followUsage)
		return 2
	}
	if sub != "check" {
		configFlag(fs)
		var err error
		if args, err = flagsFirst(fs, args); err != nil {
			fmt.Fprintln(stderr, "bot: "+err.Error())
			return exitUsage
		}
	}
	cfg, fs, code := loadConfig(fs, args, stderr)
	if cfg == nil {
		return code
	}
	wantArgs := map[string]int{"add": 1, "remove": 1, "list": 0, "check": 0}[sub]
	if fs.NArg() != wantArgs {
		fmt.Fprint(stderr, followUsage)
		return 2
	}
	st, closeStore, err := openFollowStore(ctx, cfg, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	defer closeStore()
	env, err := pipeline.New(cfg, pipeline.Options{})
	if err != nil {
		return fail(stderr, err)
	}
	p := follow.New(follow.Options{
		Store: st, Env: env, Config: cfg.Follows, Deliver: printer{stdout}, Keep: shellFollow,
		Log: newLogger(cfg.Log, stderr),
	})
	switch sub {
	case "add":
		return followAdd(ctx, p, st, fs.Arg(0), *lang, *groups, stdout, stderr)
	case "remove":
		return followRemove(p, st, fs.Arg(0), stdout, stderr)
	case "list":
		fws, err := st.Follows(shellFollow)
		if err != nil {
			return fail(stderr, err)
		}
		for _, f := range fws {
			fmt.Fprintf(stdout, "%s\t%s\n", f.Title, f.URL)
		}
		return 0
	}
	if *once {
		if _, err := p.Round(ctx, true); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	p.Run(ctx)
	return 0
}

// openFollowStore opens the store the follows are in: the cluster's when
// [cluster] nats_url is set (the follows every gateway shares), else the
// [storage] path file.
func openFollowStore(ctx context.Context, cfg *config.Config, stderr io.Writer) (store.Store, func(), error) {
	if cfg.Cluster.NATSURL == "" {
		st, err := store.Open(cfg.Storage.Path, store.Options{})
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	conn, err := connectCluster(ctx, cfg, "follow", newLogger(cfg.Log, stderr))
	if err != nil {
		return nil, nil, err
	}
	st, err := conn.Store(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return st, conn.Close, nil
}

// sameSeries finds the shell's follow of link.
func sameSeries(st store.Store, link string) ([]store.Follow, error) {
	u, err := sites.ParseURL(strings.TrimSpace(link))
	if err != nil {
		return nil, err
	}
	return st.Follows(func(f *store.Follow) bool { return shellFollow(f) && f.URL == u.String() })
}

func followAdd(ctx context.Context, p *follow.Poller, st store.Store, link, lang, groups string, stdout, stderr io.Writer) int {
	dup, err := sameSeries(st, link)
	if err != nil {
		return fail(stderr, err)
	}
	if len(dup) > 0 {
		return fail(stderr, fmt.Errorf("follow %s: already followed", link))
	}
	f := store.Follow{Language: lang, Deliver: "announce"}
	for _, g := range strings.Split(groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			f.Groups = append(f.Groups, g)
		}
	}
	f, err = p.Add(ctx, link, f)
	if err != nil {
		return fail(stderr, fmt.Errorf("follow %s: %w", link, err))
	}
	fmt.Fprintf(stdout, "following %s\t%s\n", f.Title, f.URL)
	return 0
}

func followRemove(p *follow.Poller, st store.Store, link string, stdout, stderr io.Writer) int {
	fws, err := sameSeries(st, link)
	if err != nil {
		return fail(stderr, err)
	}
	if len(fws) == 0 {
		return fail(stderr, errors.New("unfollow "+link+": not followed"))
	}
	for _, f := range fws {
		if err := p.Remove(f.ID); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "unfollowed %s\t%s\n", f.Title, f.URL)
	}
	return 0
}
