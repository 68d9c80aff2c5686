package sites

import (
	"errors"
	"net/url"
	"testing"
)

func TestRenderedHeader(t *testing.T) {
	rd := &Rendered{UserAgent: "Chrome/1 mangabot/2", Cookie: func(u string) string {
		if u == "https://cdn.example/1.jpg" {
			return "pass=ok"
		}
		return ""
	}}
	h := rd.Header("https://cdn.example/1.jpg", "https://reader.example/c/1")
	if h.Get("Referer") != "https://reader.example/c/1" || h.Get("Cookie") != "pass=ok" || h.Get("User-Agent") != "Chrome/1 mangabot/2" {
		t.Fatalf("header %v", h)
	}
	if h := rd.Header("https://other.example/1.jpg", "r"); h.Get("Cookie") != "" || len(h) != 2 {
		t.Fatalf("header without cookie %v", h)
	}
	if h := (&Rendered{}).Header("https://x.example/1.jpg", "r"); len(h) != 1 {
		t.Fatalf("header of a bare page %v", h)
	}
}

func TestRenderWithoutRenderer(t *testing.T) {
	u, _ := url.Parse("https://reader.example/c/1")
	if _, err := Render(t.Context(), Env{}, u); !errors.Is(err, ErrNeedsBrowser) {
		t.Fatalf("err %v", err)
	}
}
