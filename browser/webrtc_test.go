package browser

import (
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// WebRTC sends UDP (STUN) past any HTTP proxy: a page asking a STUN
// server on a refused address must not reach it.
func TestResolveWebRTCStaysProxied(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skip("no 127.0.0.2: ", err)
	}
	defer pc.Close()
	var packets atomic.Int64
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	srv := readerServer(t, map[string]http.HandlerFunc{"/chapter": serveHTML(`<!doctype html><img src="/img/1.png"><script>
const pc = new RTCPeerConnection({iceServers: [{urls: 'stun:127.0.0.2:` + port + `'}]});
pc.createDataChannel('x');
pc.createOffer().then(o => pc.setLocalDescription(o));
</script>`)})
	r := newResolver(t, Options{QuietPeriod: time.Second})
	mustResolve(t, r, srv.URL+"/chapter")
	if n := packets.Load(); n != 0 {
		t.Fatalf("the STUN server on 127.0.0.2 got %d packets", n)
	}
}
