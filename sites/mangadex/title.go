package mangadex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/mangabot/mangabot/sites"
)

func (m *handler) resolveTitle(ctx context.Context, env sites.Env, req sites.Request, id, quality string) ([]*sites.Chapter, error) {
	sel, err := sites.ParseSelection(req.Chapters)
	if err != nil {
		return nil, err
	}
	langs := m.opts.Languages
	if l := strings.ToLower(strings.TrimSpace(req.Language)); l != "" {
		if !languageCode.MatchString(l) {
			return nil, fmt.Errorf("%q is not a language code (e.g. en, pt-br)", req.Language)
		}
		langs = []string{l}
	}

	var manga entityResponse
	if err := m.get(ctx, env, "/manga/"+id, nil, &manga); err != nil {
		return nil, fmt.Errorf("title %s: %w", id, err)
	}
	if manga.Data == nil || manga.Data.Type != "manga" || len(manga.Data.Attributes) == 0 || string(manga.Data.Attributes) == "null" {
		return nil, layoutErr("manga %s: data or attributes missing", id)
	}
	var ma mangaAttrs
	if err := json.Unmarshal(manga.Data.Attributes, &ma); err != nil || len(ma.Title) == 0 {
		return nil, layoutErr("manga %s: no title", id)
	}
	series := titleOf(&ma)

	infos, total, err := m.feed(ctx, env, id, langs)
	if err != nil {
		return nil, err
	}
	list := m.pickUploads(infos, langs)
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %s has no chapters in %s", sites.ErrNotFound, m.siteLink("title", id), strings.Join(langs, ", "))
	}
	// Apply the selection to every chapter number, external ones included,
	// so "last" means the latest chapter even when it is hosted elsewhere.
	stubs := make([]*sites.Chapter, len(list))
	byStub := make(map[*sites.Chapter]*chapterInfo, len(list))
	for i, c := range list {
		stubs[i] = &sites.Chapter{Number: c.number}
		byStub[stubs[i]] = c
	}
	picked, err := sel.Apply(stubs, 0)
	if err != nil {
		return nil, err
	}
	// Past the API's window the list is cut: a selection that reaches its
	// end ("last", "all", "990-2000") would silently miss chapters.
	if left := total - len(infos); left > 0 && len(picked) > 0 && picked[len(picked)-1] == stubs[len(stubs)-1] {
		edge := list[len(list)-1].number
		return nil, fmt.Errorf("%w: MangaDex counts %d uploads of this title in %s but serves only the first %d: %d uploads from chapter %s on were left out; select chapters below %s", sites.ErrBadSelection, total, strings.Join(langs, ", "), feedMaxWindow, left, edge, edge)
	}
	var dl []*chapterInfo
	var ext []*chapterInfo
	for _, s := range picked {
		if c := byStub[s]; c.downloadable() {
			dl = append(dl, c)
		} else {
			ext = append(ext, c)
		}
	}
	if len(dl) == 0 {
		if len(ext) == 1 {
			return nil, m.externalErr(ext[0])
		}
		return nil, fmt.Errorf("%w: none of the %d selected chapters is on MangaDex; e.g. %s", sites.ErrExternal, len(ext), m.externalWhere(ext[0]))
	}
	if env.MaxChapters > 0 && len(dl) > env.MaxChapters {
		return nil, fmt.Errorf("%w: %q selects %d chapters, more than the limit of %d ([sites] max_chapters): %d would be left out; narrow it, e.g. %s-%s", sites.ErrBadSelection, sel.String(), len(dl), env.MaxChapters, len(dl)-env.MaxChapters, dl[0].number, dl[env.MaxChapters-1].number)
	}
	// No /at-home/server call here: at 40 a minute, 50 chapters would take
	// over a minute of "resolving". The pipeline calls Refresh for each
	// chapter shortly before its turn and counts PageCount meanwhile.
	out := make([]*sites.Chapter, 0, len(dl))
	for _, c := range dl {
		ch := m.newChapter(env, c, series, quality)
		ch.PageCount = c.pages
		out = append(out, ch)
	}
	return out, nil
}

// feed lists every chapter of a manga in the given languages, in reading
// order, following offset until total.
//
// total is the number of uploads the API counts: more than it serves when
// the title has more than the 10,000 its offset window reaches.
func (m *handler) feed(ctx context.Context, env sites.Env, id string, langs []string) (out []*chapterInfo, total int, err error) {
	offset := 0
	for {
		limit := min(m.pageSize, feedMaxWindow-offset)
		if limit <= 0 {
			break // the API serves no further than offset+limit = 10,000
		}
		q := url.Values{
			"translatedLanguage[]": langs,
			"contentRating[]":      m.opts.ContentRatings,
			"includes[]":           {"scanlation_group"},
			"order[volume]":        {"asc"},
			"order[chapter]":       {"asc"},
			"limit":                {strconv.Itoa(limit)},
			"offset":               {strconv.Itoa(offset)},
		}
		var page collection
		if err := m.get(ctx, env, "/manga/"+id+"/feed", q, &page); err != nil {
			return nil, 0, fmt.Errorf("chapter list of %s: %w", id, err)
		}
		if page.Total == nil || page.Data == nil {
			return nil, 0, layoutErr("feed of %s lacks data or total", id)
		}
		total = *page.Total
		for i := range page.Data {
			c, err := parseChapter(&page.Data[i])
			if err != nil {
				return nil, 0, err
			}
			out = append(out, c)
		}
		offset += len(page.Data)
		if len(page.Data) == 0 || offset >= *page.Total {
			break
		}
	}
	return out, max(total, len(out)), nil
}

// pickUploads keeps one upload per chapter, in the feed's order: a
// downloadable one before an external one, then the preferred group, then
// the preferred language, then the first listed.
//
// A chapter is its number within its volume, since some series start
// numbering again with each volume. MangaDex often has the same chapter
// with a volume from one group and without one from another, so an upload
// without a volume joins the uploads of its number when they all lie in
// one volume (or have none). When the number occurs in several volumes, a
// volume-less upload cannot be placed and stays a chapter of its own: in
// such series it is most likely a new chapter not yet collected into a
// volume, and a duplicate costs less than a lost chapter.
func (m *handler) pickUploads(infos []*chapterInfo, langs []string) []*chapterInfo {
	type slot struct {
		best *chapterInfo
		rank [4]int
		pos  int // position of its first upload in the feed
		// volume: the slot holds uploads with a volume; it keeps their
		// place in the feed wherever the uploads without one are listed.
		volume bool
	}
	var slots []*slot
	add := func(s *slot, pos int, c *chapterInfo) *slot {
		rank := [4]int{1, m.groupRank(c), len(langs), pos}
		if c.downloadable() {
			rank[0] = 0
		}
		for i, l := range langs {
			if strings.EqualFold(c.lang, l) {
				rank[2] = i
				break
			}
		}
		if s == nil {
			s = &slot{best: c, rank: rank, pos: pos}
			slots = append(slots, s)
			return s
		}
		if !s.volume {
			s.pos = min(s.pos, pos)
		}
		if rankLess(rank, s.rank) {
			s.best, s.rank = c, rank
		}
		return s
	}

	// Uploads with a volume first: one slot per (number, volume).
	byVolume := map[[2]string]*slot{}
	volumes := map[string][]*slot{} // number -> its slots with a volume
	for pos, c := range infos {
		num, vol := numberKey(c.number), numberKey(c.volume)
		switch {
		case num == "":
			add(nil, pos, c) // no number: never merged
		case vol != "":
			k := [2]string{num, vol}
			if byVolume[k] == nil {
				byVolume[k] = add(nil, pos, c)
				byVolume[k].volume = true
				volumes[num] = append(volumes[num], byVolume[k])
			} else {
				add(byVolume[k], pos, c)
			}
		}
	}
	// Then those without: into the one volume of their number, else
	// together with the other volume-less uploads of that number.
	noVolume := map[string]*slot{}
	for pos, c := range infos {
		num, vol := numberKey(c.number), numberKey(c.volume)
		if num == "" || vol != "" {
			continue
		}
		if vs := volumes[num]; len(vs) == 1 {
			add(vs[0], pos, c)
		} else {
			noVolume[num] = add(noVolume[num], pos, c)
		}
	}

	sort.SliceStable(slots, func(i, j int) bool { return slots[i].pos < slots[j].pos })
	out := make([]*chapterInfo, len(slots))
	for i, s := range slots {
		out[i] = s.best
	}
	return out
}

// numberKey normalises a chapter or volume number for comparison ("01"
// and "1" are the same); other text is kept as it is.
func numberKey(s string) string {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s
}

func rankLess(a, b [4]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// groupRank is the index of the first preferred group among c's groups, or
// len(preferred_groups) when none is.
func (m *handler) groupRank(c *chapterInfo) int {
	for i, p := range m.opts.PreferredGroups {
		for _, g := range c.groups {
			if strings.EqualFold(p, g.id) || (g.name != "" && strings.EqualFold(p, g.name)) {
				return i
			}
		}
	}
	return len(m.opts.PreferredGroups)
}
