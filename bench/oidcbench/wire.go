package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// wire is one worker's keep-alive HTTP/1.1 connection to the provider,
// for its browsers' and its relying party's requests, one at a time,
// written and read in the worker's own goroutine. net/http's Transport
// hands every request to two goroutines of its own (its read and write
// loops), and its Request.Write and ReadResponse build a header map, a
// canonical key and a string for every header line: on two shared cores
// that costs the generator as much CPU as the requests' cryptography, and
// it is the server's CPU that is measured, not the client library's. So a
// request is written straight into the connection's buffer and an answer
// read with the few headers a browser and a relying party use here
// (status, Location, Set-Cookie, the body's framing).
type wire struct {
	addr string // host:port, also the Host header
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	body []byte // the last answer's body, reused
}

// answer is what the generator needs of an HTTP response. Its body is the
// wire's buffer: valid until the wire's next request.
type answer struct {
	status   int
	location string
	cookies  []string // the Set-Cookie values
	body     []byte
	close    bool // the server closes the connection after this answer
}

// request is one HTTP request: target is the path and query; header holds
// whole header lines, each ending in "\r\n".
type request struct {
	method, target string
	header         []string
	ctype, body    string
}

// roundTrip writes req and reads its whole answer. Any failure drops the
// connection (the next request dials anew) and fails this request: no
// request is sent twice.
func (w *wire) roundTrip(req *request) (*answer, error) {
	if w.c == nil {
		c, err := net.DialTimeout("tcp", w.addr, 5*time.Second)
		if err != nil {
			return nil, err
		}
		w.c, w.br, w.bw = c, bufio.NewReaderSize(c, 16<<10), bufio.NewWriterSize(c, 4<<10)
	}
	_ = w.c.SetDeadline(time.Now().Add(30 * time.Second))
	a, err := w.exchange(req)
	if err != nil || a.close {
		w.c.Close()
		w.c = nil
	}
	return a, err
}

func (w *wire) exchange(req *request) (*answer, error) {
	bw := w.bw
	bw.WriteString(req.method)
	bw.WriteByte(' ')
	bw.WriteString(req.target)
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(w.addr)
	bw.WriteString("\r\nUser-Agent: oidcbench\r\n")
	for _, h := range req.header {
		bw.WriteString(h)
	}
	if req.method != "GET" {
		if req.ctype != "" {
			bw.WriteString("Content-Type: ")
			bw.WriteString(req.ctype)
			bw.WriteString("\r\n")
		}
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(req.body)))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	bw.WriteString(req.body)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return w.read(req.method == "HEAD")
}

var errMalformed = errors.New("malformed HTTP answer")

// read reads one answer from the connection.
func (w *wire) read(head bool) (*answer, error) {
	line, err := w.line()
	if err != nil {
		return nil, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return nil, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	a := &answer{status: status, close: line[7] == '0'}
	length, chunked := -1, false
	for {
		line, err := w.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case headerIs(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return nil, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case headerIs(name, "Transfer-Encoding"):
			chunked = bytes.EqualFold(value, []byte("chunked"))
			if !chunked {
				return nil, fmt.Errorf("%w: Transfer-Encoding %q", errMalformed, value)
			}
		case headerIs(name, "Location"):
			a.location = string(value)
		case headerIs(name, "Set-Cookie"):
			a.cookies = append(a.cookies, string(value))
		case headerIs(name, "Connection"):
			if bytes.EqualFold(value, []byte("close")) {
				a.close = true
			}
		}
	}
	w.body = w.body[:0]
	switch {
	case head || status == 204 || status == 304 || status < 200:
	case chunked:
		err = w.readChunked()
	case length >= 0:
		w.body = growTo(w.body, length)
		_, err = io.ReadFull(w.br, w.body)
	default: // the body runs to the connection's end
		a.close = true
		var b bytes.Buffer
		_, err = b.ReadFrom(w.br)
		w.body = append(w.body, b.Bytes()...)
	}
	a.body = w.body
	return a, err
}

// readChunked reads a chunked body (RFC 9112 section 7.1) into w.body.
func (w *wire) readChunked() error {
	for {
		line, err := w.line()
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 31)
		if err != nil {
			return fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if n == 0 {
			for { // trailer fields, up to the empty line
				line, err := w.line()
				if err != nil || len(line) == 0 {
					return err
				}
			}
		}
		at := len(w.body)
		w.body = growTo(w.body, at+int(n))
		if _, err := io.ReadFull(w.br, w.body[at:]); err != nil {
			return err
		}
		if line, err := w.line(); err != nil || len(line) != 0 {
			return fmt.Errorf("%w: chunk not followed by CRLF", errMalformed)
		}
	}
}

// line reads one line without its CRLF; it is valid until the next read.
func (w *wire) line() ([]byte, error) {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line too long", errMalformed)
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

func headerIs(name []byte, want string) bool {
	return len(name) == len(want) && strings.EqualFold(string(name), want)
}

// growTo returns b resized to n bytes, reusing its array when it is large
// enough.
func growTo(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return append(b[:cap(b)], make([]byte, n-cap(b))...)
}

// String shows an answer in an error: its status and the start of its body.
func (a *answer) String() string {
	if a == nil {
		return "no answer"
	}
	return fmt.Sprintf("%d %.200s", a.status, a.body)
}
