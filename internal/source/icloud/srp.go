package icloud

// SRP-6a as Apple's sign-in (idmsa) does it: the RFC 5054 2048-bit group,
// SHA-256, x derived from a PBKDF2 key instead of the password and without
// the account name, and a client that sends both M1 and M2 (see the fact
// sheet, section 1.3). Both halves are here so the fake server verifies
// real proofs.
//
// Padding is the one point where the known implementations disagree (A, B
// and S padded to 256 bytes or not inside M1, M2 and K). The two conventions
// only differ when the top byte of a value is zero, so the client avoids
// the question: it picks a client secret whose A has a non-zero top byte,
// hashes B exactly as received, and starts the sign-in over when S has a
// zero top byte. Its proofs then hold under either convention.

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"strings"
)

// SRPGroup is a prime-order group with its hash.
type SRPGroup struct {
	N    *big.Int
	G    *big.Int
	Size int // bytes of N: the padded width
	Hash func() hash.Hash
}

func mustHex(s string) *big.Int {
	n, ok := new(big.Int).SetString(strings.Join(strings.Fields(s), ""), 16)
	if !ok {
		panic("bad hex constant")
	}
	return n
}

// RFC5054Group2048 is RFC 5054 Appendix A's 2048-bit group with SHA-256,
// the group Apple uses.
var RFC5054Group2048 = newGroup(mustHex(`
	AC6BDB41 324A9A9B F166DE5E 1389582F AF72B665 1987EE07 FC319294
	3DB56050 A37329CB B4A099ED 8193E075 7767A13D D52312AB 4B03310D
	CD7F48A9 DA04FD50 E8083969 EDB767B0 CF609517 9A163AB3 661A05FB
	D5FAAAE8 2918A996 2F0B93B8 55F97993 EC975EEA A80D740A DBF4FF74
	7359D041 D5C33EA7 1D281E44 6B14773B CA97B43A 23FB8016 76BD207A
	436C6481 F1D2B907 8717461A 5B9D32E6 88F87748 544523B5 24B0D57D
	5EA77A27 75D2ECFA 032CFBDB F52FB378 61602790 04E57AE6 AF874E73
	03CE5329 9CCC041C 7BC308D8 2A5698F3 A8D0C382 71AE35F8 E9DBFBB6
	94B5C803 D89F7AE4 35DE236D 525F5475 9B65E372 FCD68EF2 0FA7111F
	9E4AFF73`), 2, sha256.New)

// NewSRPGroup builds a group from N, g and a hash (tests use RFC 5054's
// 1024-bit group with SHA-1 for the published vectors).
func NewSRPGroup(n *big.Int, g int64, h func() hash.Hash) SRPGroup { return newGroup(n, g, h) }

func newGroup(n *big.Int, g int64, h func() hash.Hash) SRPGroup {
	return SRPGroup{N: n, G: big.NewInt(g), Size: (n.BitLen() + 7) / 8, Hash: h}
}

// Pad is x big-endian, left-padded with zeros to the width of N.
func (g SRPGroup) Pad(x *big.Int) []byte {
	return x.FillBytes(make([]byte, g.Size))
}

// H hashes the concatenation of parts.
func (g SRPGroup) H(parts ...[]byte) []byte {
	h := g.Hash()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func (g SRPGroup) hInt(parts ...[]byte) *big.Int { return new(big.Int).SetBytes(g.H(parts...)) }

// K is the multiplier k = H(N | pad(g)).
func (g SRPGroup) K() *big.Int { return g.hInt(g.N.Bytes(), g.Pad(g.G)) }

// U is the scrambler u = H(pad(A) | pad(B)).
func (g SRPGroup) U(a, b *big.Int) *big.Int { return g.hInt(g.Pad(a), g.Pad(b)) }

// X is the private key x = H(salt | H(identity | ":" | secret)). Apple uses
// an empty identity and the PBKDF2 key as the secret; RFC 5054's vectors use
// the user name and password.
func (g SRPGroup) X(salt, identity, secret []byte) *big.Int {
	inner := g.H(identity, []byte(":"), secret)
	return g.hInt(salt, inner)
}

// Verifier is v = g^x mod N.
func (g SRPGroup) Verifier(x *big.Int) *big.Int { return new(big.Int).Exp(g.G, x, g.N) }

// Public is g^secret mod N (A for the client, g^b for the server's part).
func (g SRPGroup) Public(secret *big.Int) *big.Int { return new(big.Int).Exp(g.G, secret, g.N) }

// ServerPublic is B = (k·v + g^b) mod N.
func (g SRPGroup) ServerPublic(v, b *big.Int) *big.Int {
	kv := new(big.Int).Mul(g.K(), v)
	kv.Add(kv, g.Public(b))
	return kv.Mod(kv, g.N)
}

// ClientS is S = (B − k·g^x)^(a + u·x) mod N.
func (g SRPGroup) ClientS(bigB, x, a, u *big.Int) *big.Int {
	base := new(big.Int).Mul(g.K(), g.Verifier(x))
	base.Sub(bigB, base)
	base.Mod(base, g.N)
	exp := new(big.Int).Mul(u, x)
	exp.Add(exp, a)
	return base.Exp(base, exp, g.N)
}

// ServerS is S = (A · v^u)^b mod N.
func (g SRPGroup) ServerS(bigA, v, u, b *big.Int) *big.Int {
	base := new(big.Int).Exp(v, u, g.N)
	base.Mul(base, bigA)
	base.Mod(base, g.N)
	return base.Exp(base, b, g.N)
}

// M1 is H(H(N) xor H(pad(g)) | H(I) | salt | A | B | K), with A and B as
// the caller encodes them (that is the padding question).
func (g SRPGroup) M1(identity, salt, aBytes, bBytes, key []byte) []byte {
	hn, hg := g.H(g.N.Bytes()), g.H(g.Pad(g.G))
	for i := range hn {
		hn[i] ^= hg[i]
	}
	return g.H(hn, g.H(identity), salt, aBytes, bBytes, key)
}

// M2 is H(A | M1 | K).
func (g SRPGroup) M2(aBytes, m1, key []byte) []byte { return g.H(aBytes, m1, key) }

// Apple's password derivations, named as signin/init names them.
const (
	ProtocolS2K   = "s2k"
	ProtocolS2KFO = "s2k_fo"
)

// maxIterations bounds the PBKDF2 cost a server may ask for (kei refuses
// more than a million, and so do we: it would be a denial of service).
const maxIterations = 1_000_000

// DeriveKey turns the password into the SRP secret: PBKDF2-HMAC-SHA-256
// over SHA-256(password), raw for s2k, lower-case hex for s2k_fo.
func DeriveKey(protocol, password string, salt []byte, iterations int) ([]byte, error) {
	if iterations < 1 || iterations > maxIterations {
		return nil, fmt.Errorf("the server asked for %d PBKDF2 iterations (want 1 to %d)", iterations, maxIterations)
	}
	sum := sha256.Sum256([]byte(password))
	var input string
	switch protocol {
	case ProtocolS2K:
		input = string(sum[:])
	case ProtocolS2KFO:
		input = hex.EncodeToString(sum[:])
	default:
		return nil, fmt.Errorf("unknown password protocol %q (know s2k and s2k_fo)", protocol)
	}
	return pbkdf2.Key(sha256.New, input, salt, iterations, 32)
}

// srpClient is one sign-in attempt's client half.
type srpClient struct {
	g SRPGroup
	a *big.Int
	A *big.Int
}

// newSRPClient draws a 256-bit secret whose A fills all 256 bytes, so
// padded and unpadded A are the same bytes.
func newSRPClient(g SRPGroup, random io.Reader) (*srpClient, error) {
	for range 64 {
		buf := make([]byte, 32)
		if _, err := io.ReadFull(random, buf); err != nil {
			return nil, err
		}
		a := new(big.Int).SetBytes(buf)
		if a.Sign() == 0 {
			continue
		}
		bigA := g.Public(a)
		if len(bigA.Bytes()) == g.Size {
			return &srpClient{g: g, a: a, A: bigA}, nil
		}
	}
	return nil, errors.New("could not draw an SRP secret")
}

func newRandomSRPClient() (*srpClient, error) { return newSRPClient(RFC5054Group2048, rand.Reader) }

// errAmbiguousS means S has a zero top byte: padded and unpadded proofs
// differ, so the sign-in starts over with a new secret.
var errAmbiguousS = errors.New("SRP premaster secret has a zero top byte")

// proofs computes M1 and M2 for the server's salt and B (bytes as sent).
func (c *srpClient) proofs(identity string, salt, key, bBytes []byte) (m1, m2 []byte, err error) {
	g := c.g
	bigB := new(big.Int).SetBytes(bBytes)
	if new(big.Int).Mod(bigB, g.N).Sign() == 0 {
		return nil, nil, errors.New("the server sent an invalid SRP value B")
	}
	u := g.U(c.A, bigB)
	if u.Sign() == 0 {
		return nil, nil, errors.New("the SRP scrambler is zero")
	}
	x := g.X(salt, nil, key)
	s := g.ClientS(bigB, x, c.a, u)
	if len(s.Bytes()) != g.Size {
		return nil, nil, errAmbiguousS
	}
	k := g.H(s.Bytes())
	aBytes := g.Pad(c.A)
	m1 = g.M1([]byte(identity), salt, aBytes, bBytes, k)
	return m1, g.M2(aBytes, m1, k), nil
}
