package book

import (
	"context"
	"errors"
	"iter"
)

// Steps are what a writer does with each page in Loop.
type Steps[T any] struct {
	// Inspect checks a usable-looking page (Path set); an error makes it
	// skipped, its text the reason.
	Inspect func(i int, path string) (T, error)
	// First is told of the first usable page before the placeholders that
	// waited for it are added (they take their size from it).
	First func(v T)
	// Add writes a usable page.
	Add func(i int, v T) error
	// Placeholder writes the page standing in for a skipped one; nil: no
	// placeholders, skipped pages are left out.
	Placeholder func(sk Skipped) error
}

// Loop is the page loop every writer shares: each page is inspected, and a
// page that cannot be used is recorded and, with placeholders, replaced in
// place. Failures before the first usable page wait for it, so that a
// document is only started with something real in it: with no usable page
// at all Loop returns ErrNoPages and nothing was added.
func Loop[T any](ctx context.Context, pages iter.Seq2[int, Page], s Steps[T]) ([]Skipped, error) {
	var skipped, pending []Skipped
	started := false
	for i, pg := range pages {
		if err := ctx.Err(); err != nil {
			return skipped, err
		}
		var (
			v   T
			err = pg.Err
		)
		switch {
		case pg.Path != "":
			v, err = s.Inspect(i, pg.Path)
		case err == nil:
			err = errors.New("no image file")
		}
		if fe := (fatalError{}); errors.As(err, &fe) {
			return skipped, fe.err
		}
		if err != nil {
			sk := Skipped{Index: i, Reason: err.Error()}
			skipped = append(skipped, sk)
			switch {
			case s.Placeholder == nil:
			case !started:
				pending = append(pending, sk)
			default:
				if err := s.Placeholder(sk); err != nil {
					return skipped, err
				}
			}
			continue
		}
		if !started {
			started = true
			s.First(v)
			for _, sk := range pending {
				if err := s.Placeholder(sk); err != nil {
					return skipped, err
				}
			}
		}
		if err := s.Add(i, v); err != nil {
			return skipped, err
		}
	}
	if !started {
		return skipped, ErrNoPages
	}
	return skipped, ctx.Err()
}

// Fatal marks an Inspect error that must end the loop (cancelled while
// waiting for memory, say) instead of making the page a skipped one.
func Fatal(err error) error { return fatalError{err} }

type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }
