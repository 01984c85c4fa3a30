/// Suggestions for a word that is not one of a fixed set of words: the
/// keywords, interface names, algorithms, protocols and keys the languages
/// accept. Every "did you mean" comes from here.
public enum Vocabulary {
    /// The longest word a suggestion is looked for: a longer one is no typo
    /// of a keyword or a name, and comparing it would cost time for nothing.
    public static let longestSuggestedWord = 64

    /// The word of `words` nearest to `word`, when it is near enough to be
    /// a likely typo: at most 2 edits, or 3 for words of 8 characters or more.
    /// Words longer than `longestSuggestedWord` get none. The work is linear
    /// in the number of words: a candidate whose length differs by more than
    /// the edits allowed is skipped unread, and the rest are short.
    public static func closest<Words: Sequence<String>>(to word: String, in words: Words) -> String? {
        guard word.utf8.count <= 4 * longestSuggestedWord else { return nil }
        let characters = Array(word)
        guard characters.count <= longestSuggestedWord else { return nil }
        let limit = characters.count >= 8 ? 3 : 2
        var best: (word: String, distance: Int)?
        for candidate in words where candidate != word {
            // A character is 1 to 4 UTF-8 bytes: too many bytes is too many characters, without counting them.
            guard candidate.utf8.count <= 4 * (characters.count + limit) else { continue }
            let other = Array(candidate)
            guard abs(other.count - characters.count) <= limit else { continue }
            let within = min(limit, (best?.distance ?? .max) - 1)
            guard within >= 0, let distance = editDistance(characters, other, atMost: within) else { continue }
            best = (candidate, distance)
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
        return editDistance(a, b, atMost: max(a.count, b.count))!
    }

    /// The edit distance of `a` and `b` when it is at most `bound`, else nil.
    /// Only cells within `bound` of the diagonal can stay within it, so the
    /// work is `a.count × (2 × bound + 1)`.
    static func editDistance(_ a: [Character], _ b: [Character], atMost bound: Int) -> Int? {
        guard abs(a.count - b.count) <= bound else { return nil }
        let outside = bound + 1
        var previous = (0...b.count).map { $0 <= bound ? $0 : outside }
        var current = [Int](repeating: outside, count: b.count + 1)
        for i in a.indices {
            let low = max(0, i + 1 - bound), high = min(b.count, i + 1 + bound)
            current[0] = i + 1 <= bound ? i + 1 : outside
            if low > 1 { current[low - 1] = outside }
            var rowBest = current[0]
            for j in max(1, low)...max(1, high) where j <= high {
                let substitution = previous[j - 1] + (a[i] == b[j - 1] ? 0 : 1)
                current[j] = min(min(previous[j] + 1, current[j - 1] + 1, substitution), outside)
                rowBest = min(rowBest, current[j])
            }
            if high < b.count { current[high + 1] = outside }
            if rowBest > bound { return nil }
            swap(&previous, &current)
        }
        return previous[b.count] <= bound ? previous[b.count] : nil
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
