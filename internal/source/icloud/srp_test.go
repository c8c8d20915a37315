package icloud

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math/big"
	"strings"
	"testing"
)

// RFC 5054 Appendix B: SHA-1 over the 1024-bit group, I = alice,
// P = password123. These pin the generic parts (k, x, v, A, B, u, S).
var rfc5054 = struct{ n, s, k, x, v, a, b, A, B, u, S string }{
	n: `EEAF0AB9 ADB38DD6 9C33F80A FA8FC5E8 60726187 75FF3C0B 9EA2314C 9C256576 D674DF74 96EA81D3 383B4813 D692C6E0
	E0D5D8E2 50B98BE4 8E495C1D 6089DAD1 5DC7D7B4 6154D6B6 CE8EF4AD 69B15D49 82559B29 7BCF1885 C529F566 660E57EC
	68EDBC3C 05726CC0 2FD4CBF4 976EAA9A FD5138FE 8376435B 9FC61D2F C0EB06E3`,
	s: `BEB25379 D1A8581E B5A72767 3A2441EE`,
	k: `7556AA04 5AEF2CDD 07ABAF0F 665C3E81 8913186F`,
	x: `94B7555A ABE9127C C58CCF49 93DB6CF8 4D16C124`,
	v: `7E273DE8 696FFC4F 4E337D05 B4B375BE B0DDE156 9E8FA00A 9886D812 9BADA1F1 822223CA 1A605B53 0E379BA4 729FDC59
	F105B478 7E5186F5 C671085A 1447B52A 48CF1970 B4FB6F84 00BBF4CE BFBB1681 52E08AB5 EA53D15C 1AFF87B2 B9DA6E04
	E058AD51 CC72BFC9 033B564E 26480D78 E955A5E2 9E7AB245 DB2BE315 E2099AFB`,
	a: `60975527 035CF2AD 1989806F 0407210B C81EDC04 E2762A56 AFD529DD DA2D4393`,
	b: `E487CB59 D31AC550 471E81F0 0F6928E0 1DDA08E9 74A004F4 9E61F5D1 05284D20`,
	A: `61D5E490 F6F1B795 47B0704C 436F523D D0E560F0 C64115BB 72557EC4 4352E890 3211C046 92272D8B 2D1A5358 A2CF1B6E
	0BFCF99F 921530EC 8E393561 79EAE45E 42BA92AE ACED8251 71E1E8B9 AF6D9C03 E1327F44 BE087EF0 6530E69F 66615261
	EEF54073 CA11CF58 58F0EDFD FE15EFEA B349EF5D 76988A36 72FAC47B 0769447B`,
	B: `BD0C6151 2C692C0C B6D041FA 01BB152D 4916A1E7 7AF46AE1 05393011 BAF38964 DC46A067 0DD125B9 5A981652 236F99D9
	B681CBF8 7837EC99 6C6DA044 53728610 D0C6DDB5 8B318885 D7D82C7F 8DEB75CE 7BD4FBAA 37089E6F 9C6059F3 88838E7A
	00030B33 1EB76840 910440B1 B27AAEAE EB4012B7 D7665238 A8E3FB00 4B117B58`,
	u: `CE38B959 3487DA98 554ED47D 70A7AE5F 462EF019`,
	S: `B0DC82BA BCF30674 AE450C02 87745E79 90A3381F 63B387AA F271A10D 233861E3 59B48220 F7C4693C 9AE12B0A 6F67809F
	0876E2D0 13800D6C 41BB59B6 D5979B5C 00A172B4 A2A5903A 0BDCAF8A 709585EB 2AFAFA8F 3499B200 210DCC1F 10EB3394
	3CD67FC8 8A2F39A4 BE5BEC4E C0A3212D C346D7E4 74B29EDE 8A469FFE CA686E5A`,
}

func hexBytes(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestRFC5054Vectors(t *testing.T) {
	g := NewSRPGroup(mustHex(rfc5054.n), 2, sha1.New)
	salt := hexBytes(rfc5054.s)
	check := func(name string, got *big.Int, want string) {
		t.Helper()
		if got.Cmp(mustHex(want)) != 0 {
			t.Errorf("%s = %X, want %s", name, got, strings.Join(strings.Fields(want), ""))
		}
	}
	check("k", g.K(), rfc5054.k)
	x := g.X(salt, []byte("alice"), []byte("password123"))
	check("x", x, rfc5054.x)
	v := g.Verifier(x)
	check("v", v, rfc5054.v)
	a, b := mustHex(rfc5054.a), mustHex(rfc5054.b)
	A := g.Public(a)
	check("A", A, rfc5054.A)
	B := g.ServerPublic(v, b)
	check("B", B, rfc5054.B)
	u := g.U(A, B)
	check("u", u, rfc5054.u)
	check("client S", g.ClientS(B, x, a, u), rfc5054.S)
	check("server S", g.ServerS(A, v, u, b), rfc5054.S)
}

func TestGroup2048IsRFC5054AppendixA(t *testing.T) {
	g := RFC5054Group2048
	sum := sha256.Sum256([]byte(fmt.Sprintf("%X", g.N)))
	if got := hex.EncodeToString(sum[:]); got != "a5f6ed3cab1c9d28a1e9a3697cf264210e2ace36b90395860a6fcbd06bb7babc" {
		t.Errorf("SHA-256 of the 2048-bit prime's hex = %s: the constant is mistyped", got)
	}
	if g.Size != 256 || g.G.Int64() != 2 {
		t.Errorf("size %d, g %v", g.Size, g.G)
	}
}

// --- An independent, deliberately plain implementation of the sheet's
// formulas, used to compute the expected values below. It shares nothing
// with srp.go but the prime.

func refPBKDF2(password, salt []byte, iter, keyLen int) []byte {
	var out []byte
	for block := uint32(1); len(out) < keyLen; block++ {
		mac := hmac.New(sha256.New, password)
		mac.Write(salt)
		binary.Write(mac, binary.BigEndian, block)
		u := mac.Sum(nil)
		t := append([]byte(nil), u...)
		for i := 1; i < iter; i++ {
			mac = hmac.New(sha256.New, password)
			mac.Write(u)
			u = mac.Sum(nil)
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

func sha(parts ...[]byte) []byte {
	var h hash.Hash = sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func pad256(x *big.Int) []byte {
	b := x.Bytes()
	return append(make([]byte, 256-len(b)), b...)
}

type refProof struct{ m1, m2 []byte }

// refApple computes M1 and M2 following section 1.3 literally, with A and
// S padded and B as given.
func refApple(user, password, protocol string, salt []byte, iter int, a *big.Int, bBytes []byte) refProof {
	N := RFC5054Group2048.N
	g := big.NewInt(2)
	h := sha([]byte(password))
	in := h
	if protocol == "s2k_fo" {
		in = []byte(hex.EncodeToString(h))
	}
	key := refPBKDF2(in, salt, iter, 32)
	x := new(big.Int).SetBytes(sha(salt, sha([]byte(":"), key)))
	A := new(big.Int).Exp(g, a, N)
	B := new(big.Int).SetBytes(bBytes)
	k := new(big.Int).SetBytes(sha(N.Bytes(), pad256(g)))
	u := new(big.Int).SetBytes(sha(pad256(A), pad256(B)))
	gx := new(big.Int).Exp(g, x, N)
	base := new(big.Int).Sub(B, new(big.Int).Mul(k, gx))
	base.Mod(base, N)
	S := new(big.Int).Exp(base, new(big.Int).Add(a, new(big.Int).Mul(u, x)), N)
	K := sha(pad256(S))
	hN, hg := sha(N.Bytes()), sha(pad256(g))
	xor := make([]byte, len(hN))
	for i := range hN {
		xor[i] = hN[i] ^ hg[i]
	}
	m1 := sha(xor, sha([]byte(user)), salt, pad256(A), bBytes, K)
	return refProof{m1: m1, m2: sha(pad256(A), m1, K)}
}

// fixedReader returns the given secrets, one per read of 32 bytes.
type fixedReader struct{ secrets [][]byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	s := r.secrets[0]
	r.secrets = r.secrets[1:]
	return copy(p, s), nil
}

func secret(seed int) []byte {
	s := sha([]byte(fmt.Sprint("secret", seed)))
	return s
}

func TestDeriveKeyMatchesPlainPBKDF2(t *testing.T) {
	salt := []byte{0, 1, 2, 3, 0xfe}
	for _, proto := range []string{ProtocolS2K, ProtocolS2KFO} {
		got, err := DeriveKey(proto, "pässword", salt, 1000)
		if err != nil {
			t.Fatal(err)
		}
		h := sha([]byte("pässword"))
		in := h
		if proto == ProtocolS2KFO {
			in = []byte(hex.EncodeToString(h))
		}
		if want := refPBKDF2(in, salt, 1000, 32); !bytes.Equal(got, want) {
			t.Errorf("%s: key %x, want %x", proto, got, want)
		}
	}
	if _, err := DeriveKey("s2k", "x", salt, 2_000_000); err == nil {
		t.Error("accepted 2,000,000 iterations")
	}
	if _, err := DeriveKey("sha1", "x", salt, 10); err == nil {
		t.Error("accepted an unknown protocol")
	}
}

// serverB makes B from a verifier for password under the fake's rules.
func serverB(t *testing.T, password, protocol string, salt []byte, iter int, b *big.Int) *big.Int {
	t.Helper()
	g := RFC5054Group2048
	key, err := DeriveKey(protocol, password, salt, iter)
	if err != nil {
		t.Fatal(err)
	}
	return g.ServerPublic(g.Verifier(g.X(salt, nil, key)), b)
}

func TestProofsMatchReference(t *testing.T) {
	g := RFC5054Group2048
	// A salt starting with a zero byte: it must be used as raw bytes.
	salt := append([]byte{0}, secret(99)[:15]...)
	for i, proto := range []string{ProtocolS2K, ProtocolS2KFO, ProtocolS2K} {
		c, err := newSRPClient(g, &fixedReader{secrets: [][]byte{secret(i)}})
		if err != nil {
			t.Fatal(err)
		}
		B := serverB(t, "correct horse", proto, salt, 2000, new(big.Int).SetBytes(secret(100+i)))
		key, _ := DeriveKey(proto, "correct horse", salt, 2000)
		m1, m2, err := c.proofs("me@example.com", salt, key, g.Pad(B))
		if err == errAmbiguousS {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want := refApple("me@example.com", "correct horse", proto, salt, 2000, c.a, g.Pad(B))
		if !bytes.Equal(m1, want.m1) || !bytes.Equal(m2, want.m2) {
			t.Errorf("%s: proofs differ from the reference", proto)
		}
		// The wrong password gives other proofs.
		wrong, _ := DeriveKey(proto, "correct horsf", salt, 2000)
		if w1, _, _ := c.proofs("me@example.com", salt, wrong, g.Pad(B)); bytes.Equal(w1, m1) {
			t.Error("a wrong password gave the same M1")
		}
	}
}

// The zero-top-byte cases of the padding disagreement.

func TestClientNeverSendsAShortA(t *testing.T) {
	g := RFC5054Group2048
	var short []byte
	for i := 0; short == nil; i++ {
		if len(g.Public(new(big.Int).SetBytes(secret(1000+i))).Bytes()) < g.Size {
			short = secret(1000 + i)
		}
	}
	c, err := newSRPClient(g, &fixedReader{secrets: [][]byte{short, secret(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c.a.Bytes(), new(big.Int).SetBytes(secret(1)).Bytes()) {
		t.Error("the client kept a secret whose A has a zero top byte")
	}
}

func TestBIsHashedAsReceived(t *testing.T) {
	g := RFC5054Group2048
	salt := secret(7)[:16]
	key, _ := DeriveKey(ProtocolS2K, "pw", salt, 100)
	var B *big.Int
	for i := 0; B == nil; i++ {
		if cand := serverB(t, "pw", ProtocolS2K, salt, 100, new(big.Int).SetBytes(secret(2000+i))); len(cand.Bytes()) < g.Size {
			B = cand
		}
	}
	for _, bBytes := range [][]byte{g.Pad(B), B.Bytes()} {
		for seed := 0; ; seed++ {
			c, _ := newSRPClient(g, &fixedReader{secrets: [][]byte{secret(3000 + seed)}})
			m1, m2, err := c.proofs("pw@example.com", salt, key, bBytes)
			if err == errAmbiguousS {
				continue
			}
			want := refApple("pw@example.com", "pw", ProtocolS2K, salt, 100, c.a, bBytes)
			if err != nil || !bytes.Equal(m1, want.m1) || !bytes.Equal(m2, want.m2) {
				t.Errorf("B of %d bytes: proofs differ from the reference (%v)", len(bBytes), err)
			}
			break
		}
	}
}

func TestShortSStartsOver(t *testing.T) {
	g := RFC5054Group2048
	salt := secret(8)[:16]
	key, _ := DeriveKey(ProtocolS2K, "pw", salt, 100)
	B := serverB(t, "pw", ProtocolS2K, salt, 100, new(big.Int).SetBytes(secret(5)))
	x := g.X(salt, nil, key)
	for i := 0; i < 5000; i++ {
		c, _ := newSRPClient(g, &fixedReader{secrets: [][]byte{secret(4000 + i)}})
		if len(g.ClientS(B, x, c.a, g.U(c.A, B)).Bytes()) == g.Size {
			continue
		}
		if _, _, err := c.proofs("pw@example.com", salt, key, g.Pad(B)); err != errAmbiguousS {
			t.Fatalf("S with a zero top byte: got %v, want errAmbiguousS", err)
		}
		return
	}
	t.Fatal("found no secret giving a short S")
}
