import Basics
import Engine
import Testing
import _TestSupport

@Suite struct RandomGeneratorTests {
  @Test func sameSeedSameStream() {
    var a = RandomGenerator(seed: 42)
    var b = RandomGenerator(seed: 42)
    for _ in 0..<1000 { #expect(a.next() == b.next()) }
  }

  @Test func differentSeedsDiffer() {
    var a = RandomGenerator(seed: 1)
    var b = RandomGenerator(seed: 2)
    let same = (0..<100).filter { _ in a.next() == b.next() }.count
    #expect(same == 0)
  }

  @Test func splitDoesNotAdvanceParentAndIsStable() {
    var parent = RandomGenerator(seed: 7)
    var c1 = parent.split("augment")
    var c2 = RandomGenerator(seed: 7).split("augment")
    #expect(c1.next() == c2.next())
    var fresh = RandomGenerator(seed: 7)
    #expect(parent.next() == fresh.next())
    var other = RandomGenerator(seed: 7).split("init")
    var again = RandomGenerator(seed: 7).split("augment")
    #expect(other.next() != again.next())
  }

  @Test func uniformMomentsAndRange() {
    var g = RandomGenerator(seed: 3)
    let n = 100_000
    var sum = 0.0, sumSq = 0.0
    for _ in 0..<n {
      let u = g.nextDouble()
      #expect(u >= 0 && u < 1)
      sum += u
      sumSq += u * u
    }
    let mean = sum / Double(n)
    // Uniform(0,1): mean 1/2, variance 1/12; 5 standard errors of tolerance.
    #expect(abs(mean - 0.5) < 5 * (1.0 / 12 / Double(n)).squareRoot())
    expectClose(Double(sumSq / Double(n) - mean * mean), Double(1.0 / 12), rtol: 0, atol: 0.002)
  }

  @Test func gaussianMoments() {
    var g = RandomGenerator(seed: 5)
    let xs = (0..<50_000).map { _ in g.nextGaussian() }
    let mean = xs.reduce(0, +) / Double(xs.count)
    let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count - 1)
    #expect(abs(mean) < 0.03)
    expectClose(Double(variance), 1, rtol: 0, atol: 0.03)
  }

  @Test func boundedIntegersAreUniform() {
    var g = RandomGenerator(seed: 11)
    var counts = [Int](repeating: 0, count: 6)
    for _ in 0..<60_000 { counts[g.nextInt(below: 6)] += 1 }
    for c in counts { expectClose(Double(c), Double(10_000), rtol: 0, atol: 500) }
  }

  @Test func permutationIsAPermutation() {
    var g = RandomGenerator(seed: 9)
    let p = g.permutation(100)
    #expect(p.sorted() == Array(0..<100))
    #expect(p != Array(0..<100))
  }
}

@Suite struct SHA256Tests {
  // FIPS 180-4 / NIST example vectors.
  @Test func knownVectors() {
    #expect(SHA256Hasher.hex(of: "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(SHA256Hasher.hex(of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256Hasher.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
  }

  @Test func incrementalEqualsOneShot() {
    var h = SHA256Hasher()
    h.update("ab")
    h.update([UInt8(ascii: "c")])
    #expect(h.finalize() == SHA256Hasher.hex(of: "abc"))
  }
}

@Suite struct RandomGeneratorStateTests {
  /// A generator rebuilt from a saved state (directly or through its hex text) continues the
  /// original stream bit for bit and splits into the same children.
  @Test func savedStateContinuesTheStream() throws {
    var original = RandomGenerator(seed: 0xC0FFEE).split("augment pretrain")
    for _ in 0..<37 { _ = original.next() }
    let saved = original.state
    let parsed = try #require(RandomGenerator.State(hex: saved.hex))
    #expect(parsed == saved)
    var restored = RandomGenerator(state: parsed)
    #expect(restored.state == saved)
    for _ in 0..<1000 { #expect(restored.next() == original.next()) }
    #expect(restored.split("child").state == original.split("child").state)
    #expect(restored.permutation(50) == original.permutation(50))
  }

  @Test func malformedHexIsRejected() {
    for text in ["", "1:2:3:4", "1:2:3:4:5:6", "g:2:3:4:5", "0:0:0:0:5", "11111111111111111:1:1:1:1"] {
      #expect(RandomGenerator.State(hex: text) == nil, "\(text)")
    }
    #expect(RandomGenerator.State(hex: "1:2:3:4:5") != nil)
  }
}
