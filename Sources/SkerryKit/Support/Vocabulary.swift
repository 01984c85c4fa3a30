/// Suggestions for a word that is not one of a fixed set of words: the
/// keywords, interface names, algorithms, protocols and keys the languages
/// accept. Every "did you mean" comes from here.
public enum Vocabulary {
    /// The word of `words` nearest to `word`, when it is near enough to be
    /// a likely typo: at most 2 edits, or 3 for words of 8 characters or more.
    public static func closest<Words: Sequence<String>>(to word: String, in words: Words) -> String? {
        let limit = word.count >= 8 ? 3 : 2
        var best: (word: String, distance: Int)?
        for candidate in words where candidate != word {
            let distance = editDistance(word, candidate)
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.word
    }

    /// `; did you mean 'x'?` with `x` the nearest word, or "" when none is near.
    public static func suggestion<Words: Sequence<String>>(for word: String, in words: Words, prefix: String = "") -> String {
        closest(to: word, in: words).map { "; did you mean '\(prefix)\($0)'?" } ?? ""
    }

    /// Levenshtein distance: the fewest single-character insertions,
    /// deletions and substitutions that turn `a` into `b`.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        var previous = Array(0...b.count)
        for i in a.indices {
            var current = [i + 1]
            for j in b.indices {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i] == b[j] ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension Vocabulary {
    /// `unknown WHAT 'word'; did you mean 'x'?` when a word is near, else
    /// `unknown WHAT 'word' (expected a, b or c)`.
    public static func unknown(_ what: String, _ word: String, expected words: [String]) -> String {
        let base = "unknown \(what) '\(word)'"
        if let near = closest(to: word, in: words) { return base + "; did you mean '\(near)'?" }
        return base + " (expected \(spoken(words)))"
    }

    /// `a`, `a or b`, `a, b or c`.
    public static func spoken(_ words: [String]) -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " or " + words.last!
    }
}
