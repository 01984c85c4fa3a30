import CNCurses
import Foundation
import SkerryConsole

/// The ncurses backend: shows `Screen`s, reads keys, and puts the terminal
/// back as it found it on every way out (`restore`, `atexit`, and the
/// caller's signal handling).
public final class CursesTerminal {
    public enum ColorMode: String, Sendable {
        case mono, ansi16, ansi256
    }

    public let colorMode: ColorMode
    public let glyphs: Glyphs
    private var shown: Screen?
    private var active = true
    /// The terminal's description has no alternate screen, so this backend switches to one itself.
    private let ownsAlternateScreen: Bool
    nonisolated(unsafe) private static var current: CursesTerminal?

    /// - Parameters:
    ///   - colors: force a mode; by default `NO_COLOR` means mono, otherwise
    ///     what the terminal offers (256, 16 or none).
    ///   - ascii: force ASCII glyphs; by default they follow the locale's charset.
    public init(colors: ColorMode? = nil, ascii: Bool? = nil) {
        setlocale(LC_ALL, "")
        let utf8 = String(cString: nl_langinfo(nl_item(CODESET))).uppercased().replacingOccurrences(of: "-", with: "") == "UTF8"
        glyphs = (ascii ?? !utf8) ? .ascii : .unicode
        // Terminals described without an alternate screen (TERM=vt100) get the xterm one asked for
        // directly: terminals that lack it ignore the request, those that have it (tmux, xterm, any
        // emulator) give the shell's screen back on quit instead of leaving the dashboard's last frame.
        ownsAlternateScreen = skerry_has_alternate_screen() == 0
        if ownsAlternateScreen { Self.write(Self.enterAlternateScreen) }
        initscr()
        cbreak()
        noecho()
        nonl()
        keypad(skerry_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        let wantsColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true
        if colors != .mono, wantsColor, has_colors() {
            start_color()
            use_default_colors()
            colorMode = colors ?? (skerry_colors() >= 256 ? .ansi256 : .ansi16)
        } else {
            colorMode = .mono
        }
        definePairs()
        CursesTerminal.current = self
        atexit { CursesTerminal.current?.restore() }
    }

    deinit { restore() }

    /// The terminal's size now.
    public var size: (width: Int, height: Int) { (Int(skerry_cols()), Int(skerry_lines())) }

    /// Puts the terminal back: cursor, echo, line mode, colours. Safe to call more than once.
    public func restore() {
        guard active else { return }
        active = false
        curs_set(1)
        endwin()
        if ownsAlternateScreen { Self.write(Self.leaveAlternateScreen) }
    }

    /// xterm's alternate screen, saving and restoring the cursor (private mode 1049); and the cursor shown.
    static let enterAlternateScreen = "\u{1B}[?1049h"
    static let leaveAlternateScreen = "\u{1B}[?1049l\u{1B}[?25h"

    private static func write(_ text: String) {
        _ = text.withCString { Glibc.write(STDOUT_FILENO, $0, strlen($0)) }
    }

    /// Shows `screen`, writing only the cells that changed since the last one.
    public func draw(_ screen: Screen) {
        guard active else { return }
        let previous = shown.flatMap { $0.width == screen.width && $0.height == screen.height ? $0 : nil }
        if previous == nil { clear() }
        for y in 0..<screen.height {
            for x in 0..<screen.width {
                let cell = screen[x, y]
                if let previous, previous[x, y] == cell { continue }
                // The bottom-right cell cannot be written without scrolling on some terminals.
                if y == screen.height - 1 && x == screen.width - 1 { continue }
                let (pair, attributes) = look(cell.style)
                _ = skerry_put_wide(Int32(y), Int32(x), wchar_t(cell.scalar.value), attributes, pair)
            }
        }
        refresh()
        shown = screen
    }

    /// The next key, waiting at most `timeout` seconds; nil on timeout.
    public func readKey(timeout: Double) -> Key? {
        guard active else { return nil }
        wtimeout(skerry_stdscr(), Int32(max(0, timeout * 1000)))
        var character: wint_t = 0
        let kind = wget_wch(skerry_stdscr(), &character)
        if kind == ERR { return nil }
        if kind == KEY_CODE_YES {
            switch Int32(character) {
            case skerry_key_resize():
                shown = nil
                return .resize
            case skerry_key_up(): return .up
            case skerry_key_down(): return .down
            case skerry_key_left(): return .left
            case skerry_key_right(): return .right
            case skerry_key_ppage(): return .pageUp
            case skerry_key_npage(): return .pageDown
            case skerry_key_home(): return .home
            case skerry_key_end(): return .end
            case skerry_key_btab(): return .backTab
            case skerry_key_backspace(), skerry_key_dc(): return .backspace
            case skerry_key_enter(): return .enter
            default: return nil
            }
        }
        switch character {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default:
            guard let scalar = Unicode.Scalar(UInt32(character)), scalar.value >= 0x20 else { return nil }
            return .character(Character(scalar))
        }
    }

    // MARK: Colour

    /// Colour pair and attributes for a style.
    private func look(_ style: Style) -> (Int16, Int32) {
        var attributes: Int32 = style.bold ? skerry_attr_bold() : 0
        switch colorMode {
        case .mono:
            switch style.role {
            case .title, .selected, .activeTab, .stale, .key, .input: attributes |= skerry_attr_reverse()
            case .down, .drop, .reject, .warning, .draining: attributes |= skerry_attr_bold()
            case .dim, .disabled: attributes |= skerry_attr_dim()
            case .header: attributes |= skerry_attr_underline()
            default: break
            }
            return (0, attributes)
        case .ansi16, .ansi256:
            return (Int16(style.role.rawValue) + 1, attributes)
        }
    }

    private func definePairs() {
        guard colorMode != .mono else { return }
        let wide = colorMode == .ansi256
        // (foreground, background) per role; -1 is the terminal's default.
        func colors(_ role: ColorRole) -> (Int16, Int16) {
            switch role {
            case .normal: return (-1, -1)
            case .title: return wide ? (231, 24) : (Int16(COLOR_WHITE), Int16(COLOR_BLUE))
            case .header: return wide ? (153, -1) : (Int16(COLOR_CYAN), -1)
            case .selected: return wide ? (16, 153) : (Int16(COLOR_BLACK), Int16(COLOR_CYAN))
            case .tab: return wide ? (250, 236) : (Int16(COLOR_WHITE), Int16(COLOR_BLACK))
            case .activeTab: return wide ? (16, 75) : (Int16(COLOR_BLACK), Int16(COLOR_CYAN))
            case .up, .accept: return wide ? (78, -1) : (Int16(COLOR_GREEN), -1)
            case .down, .drop: return wide ? (203, -1) : (Int16(COLOR_RED), -1)
            case .draining, .reject, .warning: return wide ? (221, -1) : (Int16(COLOR_YELLOW), -1)
            case .disabled: return wide ? (177, -1) : (Int16(COLOR_MAGENTA), -1)
            case .stale: return wide ? (16, 214) : (Int16(COLOR_BLACK), Int16(COLOR_YELLOW))
            case .dim: return wide ? (245, -1) : (Int16(COLOR_WHITE), -1)
            case .spark: return wide ? (75, -1) : (Int16(COLOR_CYAN), -1)
            case .key: return wide ? (250, 236) : (Int16(COLOR_WHITE), Int16(COLOR_BLACK))
            case .input: return wide ? (231, 24) : (Int16(COLOR_WHITE), Int16(COLOR_BLUE))
            }
        }
        for role in ColorRole.allCases {
            let (foreground, background) = colors(role)
            init_pair(Int16(role.rawValue) + 1, foreground, background)
        }
    }
}
