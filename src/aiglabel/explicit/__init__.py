"""Explicit labels: what a reader sees or hears (GB 45438 §5, Measures Art. 4).

:mod:`aiglabel.explicit.text` puts the text notice (rules §A.1) into plain text, Markdown,
HTML and DOCX, and into a stream of generated text chunks (``add_notice``,
``add_notice_to_file``, ``notice_stream``, ``anotice_stream``, ``TextNotice``).
:mod:`aiglabel.explicit.image` draws the image label (GB 5.2) with the bundled font, its glyph
height measured on the output (``render_label``, ``ImageLabel``).
:mod:`aiglabel.explicit.audio` makes the Morse "AI" rhythm cue (GB 5.3 c)) and finds it
(``rhythm_tone``, ``find_rhythm``).
"""
