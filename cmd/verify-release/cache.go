package main

import (
	"context"
	"fmt"
	"time"

	"gitlab.com/verify-release/verify-release/pkg/cache"
)

func init() {
	register(command{name: "cache", summary: "show or prune the cache", run: runCache})
}

const cacheUsage = `Usage:
  verify-release cache dir
  verify-release cache prune [--older-than DURATION] [--all] [--dry-run] [--containers]

The cache holds git mirrors of upstream repositories, pinned input files,
published copies and the OCI image layout, under $XDG_CACHE_HOME/verify-release
(override with --cache-dir). Runs may share it: each entry is locked while in
use and prune skips busy entries. Corrupt entries are detected by digest and
fetched again on their next use.

Examples:
  verify-release cache dir
  verify-release cache prune                     # entries unused for 30 days
  verify-release cache prune --older-than 24h --dry-run
  verify-release cache prune --all --containers  # everything, and leftover containers
`

func runCache(ctx context.Context, c *cli, args []string) error {
	fs := newFlagSet(c, "cache", cacheUsage)
	dir := fs.String("cache-dir", "", "cache `DIR` (default $XDG_CACHE_HOME/verify-release)")
	older := new(time.Duration)
	*older = 30 * 24 * time.Hour
	fs.Var(durationFlag{older}, "older-than", "prune: remove entries not modified for `DURATION` (e.g. 30d, 2w, 36h)")
	all := fs.Bool("all", false, "prune: remove everything, including images")
	dry := fs.Bool("dry-run", false, "prune: only list what would be removed")
	containers := fs.Bool("containers", false, "prune: also remove verify-release containers (label verify-release=1) of runs that are gone, never a live run's")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("cache", "want one subcommand: dir or prune")
	}
	d := *dir
	if d == "" {
		if d, err = cache.Dir(); err != nil {
			return err
		}
	}
	switch pos[0] {
	case "dir":
		fmt.Fprintln(c.Stdout, d)
		return nil
	case "prune":
		opts := []cache.Option{cache.OlderThan(*older)}
		if *all {
			opts = append(opts, cache.All())
		}
		if *dry {
			opts = append(opts, cache.DryRun())
		}
		res, err := cache.Prune(ctx, d, opts...)
		if err != nil {
			return err
		}
		var removedContainers []string
		if *containers && !*dry {
			dk, err := newDocker(ctx)
			if err != nil {
				return err
			}
			defer dk.Close()
			if removedContainers, err = dk.Prune(ctx); err != nil {
				return err
			}
		}
		if *asJSON {
			return printJSON(c.Stdout, "cache-prune", pruneJSON(res, removedContainers, *dry))
		}
		var total int64
		verb := "removed"
		if *dry {
			verb = "would remove"
		}
		for _, e := range res.Removed {
			fmt.Fprintf(c.Stdout, "%s %s (%d bytes)\n", verb, e.Path, e.Bytes)
			total += e.Bytes
		}
		for _, b := range res.Busy {
			fmt.Fprintf(c.Stdout, "skipped %s (in use by another run)\n", b)
		}
		for _, id := range removedContainers {
			fmt.Fprintf(c.Stdout, "removed container %s\n", id)
		}
		fmt.Fprintf(c.Stdout, "%s %d entries, %.1f MB\n", verb, len(res.Removed), float64(total)/1e6)
		return nil
	default:
		return usagef("cache", "unknown subcommand %q: want dir or prune", pos[0])
	}
}

// pruneResult is 'cache prune --json' (docs/schema/cache-prune.json).
type pruneResult struct {
	DryRun     bool         `json:"dry_run"`
	Removed    []prunedFile `json:"removed"`
	Busy       []string     `json:"busy"`
	Containers []string     `json:"containers"`
	Bytes      int64        `json:"bytes"`
}

type prunedFile struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

func pruneJSON(res *cache.Result, containers []string, dry bool) pruneResult {
	out := pruneResult{DryRun: dry, Removed: []prunedFile{}, Busy: append([]string{}, res.Busy...), Containers: append([]string{}, containers...)}
	for _, e := range res.Removed {
		out.Removed = append(out.Removed, prunedFile{Path: e.Path, Bytes: e.Bytes})
		out.Bytes += e.Bytes
	}
	return out
}
