package bot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mangabot/mangabot/internal/fakediscord"
	"github.com/mangabot/mangabot/internal/testtool"
)

// downloadAs is /manga download url:<url> format:<format>.
func (h *harness) downloadAs(user, url, format string, limit int64) string {
	return h.command("download", dl{user: user, limit: limit, opts: map[string]string{"url": url, "format": format}})
}

// attachmentFile writes an attachment to a temp file of its name.
func attachmentFile(t *testing.T, a fakediscord.Attachment) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), a.Filename)
	if err := os.WriteFile(p, a.Data(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkCBZ checks that the archive holds the site's pages first to last,
// as served, and a valid ComicInfo.xml; it returns how many pages.
func checkCBZ(t *testing.T, site *mangaSite, chapter string, first int, path string) int {
	t.Helper()
	heads, files := testtool.ReadZip(t, path)
	names := testtool.Names(heads)
	if len(names) < 2 || names[len(names)-1] != "ComicInfo.xml" {
		t.Fatalf("%s: entries %v", path, names)
	}
	for i, n := range names[:len(names)-1] {
		if n != fmt.Sprintf("%03d.jpg", i+1) {
			t.Errorf("%s: entry %d is %s", path, i, n)
		}
		if !bytes.Equal(files[n], site.jpeg(fmt.Sprintf("/img/%s/%d.jpg", chapter, first+i))) {
			t.Errorf("%s: %s is not page %d as served", path, n, first+i)
		}
	}
	testtool.ValidateXML(t, files["ComicInfo.xml"], filepath.Join("..", "cbz", "testdata", "ComicInfo-2.1.xsd"))
	if !strings.Contains(string(files["ComicInfo.xml"]), fmt.Sprintf("<PageCount>%d</PageCount>", len(names)-1)) {
		t.Errorf("%s: ComicInfo.xml:\n%s", path, files["ComicInfo.xml"])
	}
	return len(names) - 1
}

// /manga download format:cbz delivers a .cbz attachment and the status
// says CBZ; the same chapter as PDF is made anew (a cached CBZ is not a
// PDF), and CBZ again comes from the cache.
func TestDownloadFormatCBZ(t *testing.T) {
	h := start(t, func(c *Config) { c.CacheKeep = time.Hour })
	site := newSite(t, 80, false)
	url := site.URL + "/chapter/f?n=4"
	tok := h.downloadAs("u1", url, "cbz", 0)
	h.waitAttachment(tok)
	m := h.fd.Original(tok)
	a := m.Attachments[0]
	if !strings.HasSuffix(a.Filename, ".cbz") || !strings.Contains(statusText(m), "CBZ") {
		t.Fatalf("attachment %s, status %s", a.Filename, statusText(m))
	}
	if n := checkCBZ(t, site, "f", 1, attachmentFile(t, a)); n != 4 {
		t.Fatalf("%d pages", n)
	}
	h.waitIdle()
	n := site.imgReqs.Load()

	tok2 := h.downloadAs("u2", url, "pdf", 0)
	h.waitAttachment(tok2)
	m2 := h.fd.Original(tok2)
	if !strings.HasSuffix(m2.Attachments[0].Filename, ".pdf") || strings.Contains(statusText(m2), "from cache") || site.imgReqs.Load() == n {
		t.Fatalf("PDF after CBZ: %s, %s, %d page requests", m2.Attachments[0].Filename, statusText(m2), site.imgReqs.Load()-n)
	}
	if pages := checkPDF(t, m2.Attachments[0].Data()); pages != 4 {
		t.Fatalf("PDF of %d pages", pages)
	}
	h.waitIdle()
	n = site.imgReqs.Load()
	tok3 := h.downloadAs("u3", url, "cbz", 0)
	h.waitAttachment(tok3)
	m3 := h.fd.Original(tok3)
	if !strings.Contains(statusText(m3), "from cache") || site.imgReqs.Load() != n || !bytes.Equal(m3.Attachments[0].Data(), a.Data()) {
		t.Fatalf("CBZ again: %s, %d page requests", statusText(m3), site.imgReqs.Load()-n)
	}
}

// Too big for the upload limit, an EPUB comes in parts that each pass
// epubcheck and hold the pages in order.
func TestDownloadFormatEPUBParts(t *testing.T) {
	h := start(t, nil)
	const limit = 120 << 10
	h.fd.SetAttachmentLimit(limit)
	site := newSite(t, 160, false)
	tok := h.downloadAs("u1", site.URL+"/chapter/e?n=6", "epub", limit)
	h.waitFor("done", h.originalHas(tok, "Done"))
	partsRe := regexp.MustCompile(`part 1 of (\d+)`)
	h.waitFor("parts", func() bool {
		fs := h.fd.Followups(tok)
		if len(fs) == 0 {
			return false
		}
		m := partsRe.FindStringSubmatch(fs[0].Content)
		return m != nil && m[1] == strconv.Itoa(len(fs))
	})
	fs := h.fd.Followups(tok)
	if len(fs) < 2 {
		t.Fatalf("want parts, got %d followups", len(fs))
	}
	page := 1
	for i, f := range fs {
		if len(f.Attachments) != 1 || f.Attachments[0].Size > limit || !strings.HasSuffix(f.Attachments[0].Filename, ".epub") || !strings.Contains(f.Content, "(EPUB)") {
			t.Fatalf("bad part: %s %+v", f.Content, f.Attachments)
		}
		p := attachmentFile(t, f.Attachments[0])
		if i == 0 {
			testtool.Epubcheck(t, p) // seconds a run: the first part stands for all
		}
		_, files := testtool.ReadZip(t, p)
		for k := 1; ; k++ {
			img, ok := files[fmt.Sprintf("OEBPS/images/%03d.jpg", k)]
			if !ok {
				break
			}
			if !bytes.Equal(img, site.jpeg(fmt.Sprintf("/img/e/%d.jpg", page))) {
				t.Errorf("part %d image %d is not page %d", i+1, k, page)
			}
			page++
		}
	}
	if page != 7 {
		t.Fatalf("parts hold %d pages, want 6", page-1)
	}
}
