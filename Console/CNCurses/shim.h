// ncurses for Swift: the wide-character API, with the macros Swift cannot
// import (COLOR_PAIR, getmaxyx, the key codes' KEY_* values used as
// functions) wrapped as static inline functions.
#ifndef SKERRY_CNCURSES_SHIM_H
#define SKERRY_CNCURSES_SHIM_H
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <ncursesw/curses.h>
#include <ncursesw/term.h>

static inline int skerry_color_pair(int n) { return COLOR_PAIR(n); }
static inline int skerry_lines(void) { return LINES; }
static inline int skerry_cols(void) { return COLS; }
static inline int skerry_colors(void) { return COLORS; }
static inline WINDOW *skerry_stdscr(void) { return stdscr; }
static inline int skerry_attr_bold(void) { return A_BOLD; }
static inline int skerry_attr_reverse(void) { return A_REVERSE; }
static inline int skerry_attr_dim(void) { return A_DIM; }
static inline int skerry_attr_underline(void) { return A_UNDERLINE; }
static inline int skerry_key_resize(void) { return KEY_RESIZE; }
static inline int skerry_key_up(void) { return KEY_UP; }
static inline int skerry_key_down(void) { return KEY_DOWN; }
static inline int skerry_key_left(void) { return KEY_LEFT; }
static inline int skerry_key_right(void) { return KEY_RIGHT; }
static inline int skerry_key_ppage(void) { return KEY_PPAGE; }
static inline int skerry_key_npage(void) { return KEY_NPAGE; }
static inline int skerry_key_home(void) { return KEY_HOME; }
static inline int skerry_key_end(void) { return KEY_END; }
static inline int skerry_key_btab(void) { return KEY_BTAB; }
static inline int skerry_key_backspace(void) { return KEY_BACKSPACE; }
static inline int skerry_key_enter(void) { return KEY_ENTER; }
static inline int skerry_key_dc(void) { return KEY_DC; }

/// Puts one wide character with attributes and a colour pair at the cursor.
static inline int skerry_put_wide(int y, int x, wchar_t ch, int attributes, short pair) {
    cchar_t cell;
    wchar_t text[2] = { ch, 0 };
    setcchar(&cell, text, (attr_t)attributes, pair, NULL);
    return mvadd_wch(y, x, &cell);
}
/// Whether the terminal (TERM) switches to an alternate screen by itself (smcup), which
/// keeps the shell's screen to be put back when the dashboard ends. Asked before initscr.
static inline int skerry_has_alternate_screen(void) {
    int error = 0;
    if (setupterm(NULL, 1, &error) != OK) return 0;
    const char *enter = tigetstr("smcup");
    int has = enter != NULL && enter != (const char *)-1 && enter[0] != 0;
    del_curterm(cur_term);
    return has;
}
#endif
