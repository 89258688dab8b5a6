"""Generation traces in metadata (generation-traces.md §1-§3): every rule, both ways."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import TYPE_CHECKING

import pytest
from tests.conftest import MEDIA

from aiglabel.codecs.base import CodecBase, MetadataItem
from aiglabel.verify.traces import MAX_VALUE, Trace, find_traces

if TYPE_CHECKING:
    from pathlib import Path

IPTC = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
UUID = "5d2f8a4e-9c1b-4e7a-8f36-0b2c4d6e8f10"
SIGNATURE = "Signature: " + "QUJD" * 20  # 80 base64 characters
A1111 = ("a lighthouse\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
         "Seed: 1, Size: 512x512, Model hash: 6ce0161689, Version: v1.10.1")
COMFY_PROMPT = json.dumps({"3": {"inputs": {"seed": 1}, "class_type": "KSampler"}})
COMFY_WORKFLOW = json.dumps({"last_node_id": 1, "nodes": [{"id": 1, "type": "KSampler"}]})


def text(key: str, value: str, carrier: str = "png:tEXt") -> MetadataItem:
    return MetadataItem(carrier, key, value)


def exif(key: str, value: str, carrier: str = "jpeg:app1:exif") -> MetadataItem:
    return MetadataItem(carrier, key, value)


def xmp(*descriptions: str, carrier: str = "jpeg:app1:xmp", key: str = "xmp") -> MetadataItem:
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        + "".join(descriptions)
        + "</rdf:RDF></x:xmpmeta>\n" + " " * 200 + '\n<?xpacket end="w"?>'
    )
    return MetadataItem(carrier, key, packet)


def desc(attrs: str = "", body: str = "", ns: str = "") -> str:
    return (
        '<rdf:Description rdf:about=""'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        f' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" {ns} {attrs}>{body}'
        "</rdf:Description>"
    )


def dst(value: str) -> MetadataItem:
    return xmp(desc(body=f"<Iptc4xmpExt:DigitalSourceType>{value}</Iptc4xmpExt:DigitalSourceType>"))


def alt(prop: str, value: str) -> str:
    return f'<{prop}><rdf:Alt><rdf:li xml:lang="x-default">{value}</rdf:li></rdf:Alt></{prop}>'


AI = "ai-generated"
EDIT = "ai-edited"
NOT_AI = "not-ai"
UNK = "unknown"
TOKEN = "generator token"
DSTS = "IPTC DigitalSourceType"

# (id, items, expected [(source, claim), ...] in order)
CASES: list[tuple[str, list[MetadataItem], list[tuple[str, str]]]] = [
    # §1 AUTOMATIC1111 / Forge / SD.Next
    ("a1111-text", [text("parameters", A1111)], [("AUTOMATIC1111", AI)]),
    ("a1111-ztxt", [text("parameters", A1111, "png:zTXt")], [("AUTOMATIC1111", AI)]),
    ("a1111-itxt", [text("parameters", A1111, "png:iTXt")], [("AUTOMATIC1111", AI)]),
    ("a1111-seed-only", [text("parameters", "x\nSteps: 30, Seed: 7")], [("AUTOMATIC1111", AI)]),
    ("a1111-cfg-only", [text("parameters", "Steps:12, CFG scale: 4")], [("AUTOMATIC1111", AI)]),
    ("a1111-usercomment", [exif("UserComment", A1111)], [("AUTOMATIC1111", AI)]),
    ("a1111-usercomment-charset", [exif("UserComment", "UNICODE\0" + A1111)],
     [("AUTOMATIC1111", AI)]),
    ("a1111-imagedescription", [exif("ImageDescription", A1111, "webp:exif")],
     [("AUTOMATIC1111", AI)]),
    ("a1111-no-steps", [text("parameters", "Sampler: Euler, CFG scale: 7, Seed: 1")], []),
    ("a1111-steps-alone", [text("parameters", "Steps: 20, Size: 512x512")], []),
    ("a1111-steps-no-number", [text("parameters", "Steps: many, Sampler: Euler")], []),
    ("a1111-lowercase", [text("parameters", "steps: 20, sampler: euler")], []),
    ("a1111-other-key", [text("Description", A1111)], []),
    ("a1111-in-xmp", [xmp(desc(body=alt("dc:description", A1111)))], []),
    # §1 Fooocus
    ("fooocus-json", [text("parameters", json.dumps({"Prompt": "x", "Version": "Fooocus v2.5.5",
                                                      "Steps": 30}))], [("Fooocus", AI)]),
    ("fooocus-scheme", [text("fooocus_scheme", "fooocus")], [("Fooocus", AI)]),
    ("fooocus-json-other", [text("parameters", json.dumps({"Prompt": "x", "steps": 3}))], []),
    ("fooocus-not-json", [text("parameters", "made with Fooocus")], []),
    # §1 ComfyUI
    ("comfy-prompt", [text("prompt", COMFY_PROMPT)], [("ComfyUI", AI)]),
    ("comfy-workflow", [text("workflow", COMFY_WORKFLOW)], [("ComfyUI", AI)]),
    ("comfy-both", [text("prompt", COMFY_PROMPT), text("workflow", COMFY_WORKFLOW)],
     [("ComfyUI", AI), ("ComfyUI", AI)]),
    ("comfy-webp-exif", [exif("Model", "prompt:" + COMFY_PROMPT, "webp:exif"),
                         exif("Make", "workflow:" + COMFY_WORKFLOW, "webp:exif")],
     [("ComfyUI", AI), ("ComfyUI", AI)]),
    ("comfy-prompt-plain-text", [text("prompt", "a cat on a mat")], []),
    ("comfy-prompt-no-class-type", [text("prompt", json.dumps({"3": {"inputs": {}}}))], []),
    ("comfy-prompt-list", [text("prompt", json.dumps([{"class_type": "KSampler"}]))], []),
    ("comfy-workflow-nodes-not-list", [text("workflow", json.dumps({"nodes": {"1": {}}}))], []),
    ("comfy-workflow-bad-json", [text("workflow", '{"nodes": [')], []),
    ("comfy-deep-json", [text("prompt", '{"a":' * 100_000 + "1" + "}" * 100_000)], []),
    ("comfy-exif-make-plain", [exif("Make", "workflow tools inc")], []),
    # §1 InvokeAI
    ("invokeai-metadata", [text("invokeai_metadata", '{"app_version": "4.2.0"}')],
     [("InvokeAI", AI)]),
    ("invokeai-graph", [text("invokeai_graph", "{}")], [("InvokeAI", AI)]),
    ("invokeai-sd-metadata", [text("sd-metadata", "{}")], [("InvokeAI", AI)]),
    ("invokeai-dream", [text("Dream", '"a cat" -s 50 -S 42')], [("InvokeAI", AI)]),
    ("invokeai-other-key", [text("invoke", "x"), text("dream", "x")], []),
    # §1 NovelAI (metadata)
    ("novelai-software", [text("Software", "NovelAI")], [("NovelAI", AI)]),
    ("novelai-comment", [text("Comment", json.dumps({"steps": 28, "sampler": "k_euler"}))],
     [("NovelAI", AI)]),
    ("novelai-comment-no-sampler", [text("Comment", json.dumps({"steps": 28}))], []),
    ("novelai-comment-text", [text("Comment", "steps and sampler")], []),
    ("novelai-software-lowercase-is-a-token", [text("Software", "novelai")], [(TOKEN, AI)]),
    # §1 Hugging Face (weak)
    ("hf-job-id", [text("hf-job-id", UUID)], [("Hugging Face", AI)]),
    # §1 Luma AI
    ("luma-source", [text("Source", "Luma AI")], [("Luma AI", AI)]),
    ("luma-comment", [text("Comment", "Generated by Luma AI's Uni-1 model (https://lumalabs.ai)")],
     [("Luma AI", AI)]),
    ("luma-source-other", [text("Source", "Luma AI Labs camera"), text("Source", "Luma")], []),
    ("luma-comment-other", [text("Comment", "Luma AI"), text("Comment", "Not generated")], []),
    # §1 generic generator tokens in EXIF Software / XMP CreatorTool
    *[
        (f"token-{value}", [exif("Software", value)], [(TOKEN, AI)])
        for value in ("Adobe Firefly", "DALL·E 3", "dall-e", "Midjourney v6",
                      "Stable Diffusion XL", "stable-diffusion-webui", "ComfyUI",
                      "AUTOMATIC1111", "InvokeAI 4.2", "Imagen 3", "gpt-image-1", "Ideogram",
                      "Leonardo.Ai", "FLUX.1 [dev]", "Flux", "flux1-dev", "flux_schnell",
                      "DreamStudio", "NovelAI Diffusion", "NightCafe Studio")
    ],
    ("token-png-software", [text("Software", "Midjourney")], [(TOKEN, AI)]),
    ("token-creatortool-attr", [xmp(desc('xmp:CreatorTool="Adobe Firefly Image 3"'))],
     [(TOKEN, AI)]),
    ("token-creatortool-element", [xmp(desc(body="<xmp:CreatorTool>FLUX.1</xmp:CreatorTool>"))],
     [(TOKEN, AI)]),
    *[
        (f"no-token-{value}", [exif("Software", value)], [])
        for value in ("Influx Capture 2.0", "Fluxus", "influx", "Imagenomic Portraiture",
                      "Adobe Photoshop Lightroom Classic 13.0 (Windows)", "GIMP 2.10.36",
                      "Adobe Photoshop 25.0 (Windows)", "fireflyer", "superflux")
    ],
    ("token-only-in-software", [exif("Artist", "Firefly"), exif("Make", "Flux"),
                                exif("Copyright", "Midjourney fan")], []),
    ("token-creatortool-lightroom",
     [xmp(desc('xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.0 (Windows)"'))], []),
    # §2 Midjourney
    ("mj-xmp", [xmp(desc(body=alt("dc:description", f"a cat --v 6 Job ID: {UUID}")))],
     [("Midjourney", AI)]),
    ("mj-png-description", [text("Description", f"a cat Job ID: {UUID}", "png:iTXt")],
     [("Midjourney", AI)]),
    ("mj-exif-description", [exif("ImageDescription", f"Job ID: {UUID.upper()}")],
     [("Midjourney", AI)]),
    ("mj-not-uuid", [xmp(desc(body=alt("dc:description", "a cat Job ID: 12345")))], []),
    ("mj-title-only", [xmp(desc(body=alt("dc:title", f"Job ID: {UUID}")))], []),
    ("mj-other-key", [text("Comment", f"Job ID: {UUID}")], []),
    # §2 Google
    ("google-credit-attr", [xmp(desc('photoshop:Credit="Made with Google AI"'))],
     [("Google AI credit", AI)]),
    ("google-credit-element", [xmp(desc(body="<photoshop:Credit>Made with Google AI"
                                             "</photoshop:Credit>"))], [("Google AI credit", AI)]),
    ("google-credit-iim", [exif("Credit", "Made with Google AI", "jpeg:app13:iptc")],
     [("Google AI credit", AI)]),
    ("google-credit-other", [xmp(desc('photoshop:Credit="Made with Google Pixel 9"'))], []),
    # §2 xAI Grok: both fields, one carrier
    ("grok", [exif("Artist", UUID), exif("ImageDescription", SIGNATURE)], [("xAI Grok", AI)]),
    ("grok-artist-only", [exif("Artist", UUID)], []),
    ("grok-signature-only", [exif("ImageDescription", SIGNATURE)], []),
    ("grok-short-signature", [exif("Artist", UUID), exif("ImageDescription", "Signature: QUJD")],
     []),
    ("grok-artist-name", [exif("Artist", "Jane Doe"), exif("ImageDescription", SIGNATURE)], []),
    ("grok-two-carriers", [exif("Artist", UUID, "jpeg:app1:exif"),
                           exif("ImageDescription", SIGNATURE, "png:eXIf")], []),
    # §2 Ideogram, Reve, Aphrodite AI
    ("ideogram-make", [exif("Make", "Ideogram AI")], [("Ideogram", AI)]),
    ("ideogram-model", [exif("Model", "Ideogram AI")], []),
    ("reve-software", [exif("Software", "reve.com")], [("Reve", AI)]),
    ("reve-creatortool", [xmp(desc('xmp:CreatorTool="reve.com"'))], [("Reve", AI)]),
    ("reve-other", [exif("Software", "www.reve.com.example")], []),
    ("aphrodite-make", [exif("Make", "Aphrodite AI")], [("Aphrodite AI", AI)]),
    ("aphrodite-software", [exif("Software", "Aphrodite AI")], [("Aphrodite AI", AI)]),
    # §3 IPTC DigitalSourceType
    ("dst-trained", [dst(DST + "trainedAlgorithmicMedia")], [(DSTS, AI)]),
    ("dst-https", [dst("https://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")],
     [(DSTS, AI)]),
    ("dst-bare-code", [dst("trainedAlgorithmicMedia")], [(DSTS, AI)]),
    ("dst-composite-trained", [dst(DST + "compositeWithTrainedAlgorithmicMedia")],
     [(DSTS, EDIT)]),
    ("dst-composite-synthetic", [dst(DST + "compositeSynthetic")], [(DSTS, EDIT)]),
    ("dst-algorithmic-media", [dst(DST + "algorithmicMedia")], [(DSTS, NOT_AI)]),
    ("dst-digital-capture", [dst(DST + "digitalCapture")], [(DSTS, NOT_AI)]),
    ("dst-human-edits", [dst(DST + "humanEdits")], [(DSTS, NOT_AI)]),
    ("dst-screen-capture", [dst(DST + "screenCapture")], [(DSTS, NOT_AI)]),
    ("dst-composite", [dst(DST + "composite")], [(DSTS, UNK)]),
    ("dst-wrong-case", [dst(DST + "TrainedAlgorithmicMedia")], [(DSTS, UNK)]),
    ("dst-unknown-code", [dst(DST + "generatedByRobots")], [(DSTS, UNK)]),
    ("dst-other-host", [dst("http://example.com/digitalsourcetype/trainedAlgorithmicMedia")],
     [(DSTS, UNK)]),
    ("dst-empty", [dst("  ")], []),
    ("dst-attribute-odd-prefix",
     [xmp(desc(f'foo:DigitalSourceType="{DST}trainedAlgorithmicMedia"', ns=f'xmlns:foo="{IPTC}"'))],
     [(DSTS, AI)]),
    ("dst-element-odd-prefix",
     [xmp(desc(body=f'<ipx:DigitalSourceType xmlns:ipx="{IPTC}">{DST}compositeSynthetic'
                    "</ipx:DigitalSourceType>"))], [(DSTS, EDIT)]),
    ("dst-rdf-resource",
     [xmp(desc(body="<Iptc4xmpExt:DigitalSourceType"
                    f' rdf:resource="{DST}trainedAlgorithmicMedia"/>'))],
     [(DSTS, AI)]),
    ("dst-wrong-namespace",
     [xmp(desc(f'bad:DigitalSourceType="{DST}trainedAlgorithmicMedia"',
               ns='xmlns:bad="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"'))], []),
    ("dst-outside-xmp", [text("DigitalSourceType", DST + "trainedAlgorithmicMedia")], []),
    ("dst-png-itxt-keyword",
     [dataclasses.replace(dst(DST + "trainedAlgorithmicMedia"), carrier="png:iTXt",
                          key="XML:com.adobe.xmp")], [(DSTS, AI)]),
    # §3 IPTC 2025.1 AISystemUsed
    ("ai-system-used", [xmp(desc(body="<Iptc4xmpExt:AISystemUsed>Imagen 3"
                                      "</Iptc4xmpExt:AISystemUsed><Iptc4xmpExt:AISystemVersionUsed>"
                                      "3.0</Iptc4xmpExt:AISystemVersionUsed>"))],
     [("IPTC AISystemUsed", AI)]),
    ("ai-system-used-attr", [xmp(desc('Iptc4xmpExt:AISystemUsed="Some Model"'))],
     [("IPTC AISystemUsed", AI)]),
    ("ai-system-used-empty", [xmp(desc('Iptc4xmpExt:AISystemUsed=""'))], []),
    ("ai-prompt-only", [xmp(desc('Iptc4xmpExt:AIPromptInformation="a cat"'))], []),
    # plain camera metadata: nothing
    ("camera-exif", [exif("Make", "Canon"), exif("Model", "Canon EOS R5"),
                     exif("Software", "Adobe Photoshop Lightroom Classic 13.0 (Windows)"),
                     exif("Artist", "Jane Doe"), exif("Copyright", "(c) 2025 Jane Doe"),
                     exif("UserComment", "holiday"), exif("XPComment", "family"),
                     text("comment", "JPEG comment", "jpeg:com")], []),
]


@pytest.mark.parametrize(("items", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(items: list[MetadataItem], expected: list[tuple[str, str]]) -> None:
    traces = find_traces(items)
    assert [(t.source, t.claim) for t in traces] == expected, traces
    for t in traces:
        assert len(t.detail) <= 160
        assert t.carrier in {i.carrier for i in items}
        assert t.tier == (0 if t.claim in (NOT_AI, UNK) else 4 if "IPTC" in t.source else 5)


@pytest.mark.parametrize(
    ("items", "weight"),
    [
        ([text("hf-job-id", UUID)], "weak"),
        ([dst(DST + "compositeSynthetic")], "weak"),
        ([dst(DST + "compositeWithTrainedAlgorithmicMedia")], "strong"),
        ([text("parameters", A1111)], "strong"),
    ],
)
def test_weight(items: list[MetadataItem], weight: str) -> None:
    (trace,) = find_traces(items)
    assert trace.weight == weight


def test_trace_fields_and_detail() -> None:
    (trace,) = find_traces([text("parameters", A1111)])
    assert (trace.source, trace.carrier, trace.key, trace.claim, trace.tier) == (
        "AUTOMATIC1111", "png:tEXt", "parameters", "ai-generated", 5)
    assert "Steps: 20" in trace.detail
    assert trace.is_ai
    assert trace.to_dict()["weight"] == "strong"
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.source = "x"  # type: ignore[misc]
    assert not hasattr(trace, "__dict__")  # slots


def test_detail_is_truncated() -> None:
    long_tool = "Adobe Firefly " + "x" * 5000
    (trace,) = find_traces([exif("Software", long_tool)])
    assert len(trace.detail) <= 160
    (trace,) = find_traces([dst(DST + "a" * 5000)])
    assert trace.claim == UNK
    assert len(trace.detail) <= 160


def test_identical_traces_are_reported_once() -> None:
    item = text("parameters", A1111)
    assert len(find_traces([item, item, dataclasses.replace(item, offset=99)])) == 1
    assert len(find_traces([item, dataclasses.replace(item, carrier="png:zTXt")])) == 2


def test_specific_rule_suppresses_generic_token() -> None:
    assert [t.source for t in find_traces([text("Software", "NovelAI")])] == ["NovelAI"]


LIGHTROOM_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 9.1-c001">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.0 (Windows)"
    crs:Version="16.0" crs:ProcessVersion="15.4" crs:WhiteBalance="As Shot"
    crs:Exposure2012="+0.35" crs:Sharpness="40" crs:HasSettings="True">
   <crs:Look>
    <rdf:Description crs:Name="Adobe Color" crs:Amount="1" crs:SupportsAmount="false">
     <crs:Parameters>
      <rdf:Description crs:Version="16.0" crs:ProcessVersion="15.4"
        crs:ConvertToGrayscale="False" crs:LookTable="E1095149FDB39D7A057BAB208837E2E1"/>
     </crs:Parameters>
    </rdf:Description>
   </crs:Look>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Steps to the harbour. Seed: none,
    parameters: f/8 1/250s</rdf:li></rdf:Alt></dc:description>
   <Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture</Iptc4xmpExt:DigitalSourceType>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_lightroom_packet_gives_only_a_capture_claim() -> None:
    items = [
        MetadataItem("jpeg:app1:xmp", "xmp", LIGHTROOM_XMP),
        exif("Make", "Canon"),
        exif("Software", "Adobe Photoshop Lightroom Classic 13.0 (Windows)"),
    ]
    traces = find_traces(items)
    assert [(t.source, t.claim, t.tier) for t in traces] == [(DSTS, NOT_AI, 0)]
    assert "digitalCapture" in traces[0].detail


def test_midjourney_packet() -> None:
    packet = xmp(desc(f'Iptc4xmpExt:DigitalSourceType="{DST}trainedAlgorithmicMedia"',
                      alt("dc:description", f"harbour at dawn --ar 3:2 --v 6.1 Job ID: {UUID}")))
    traces = find_traces([packet])
    assert {(t.source, t.claim, t.tier) for t in traces} == {
        ("Midjourney", AI, 5), (DSTS, AI, 4)}
    assert any(UUID in t.detail for t in traces)


@pytest.mark.parametrize(
    "packet",
    [
        "",
        "not xml at all",
        "<x:xmpmeta><rdf:RDF>",  # truncated
        "<a:b>undeclared prefix</a:b>",
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<x>&b;</x>",  # entity expansion refused
        '<!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>',
        "\x00\x01\x02<<<>>>",
        xmp(desc(body="<Iptc4xmpExt:DigitalSourceType>" + DST + "trainedAlgorithmicMedia"))
        .value,  # unclosed element
    ],
)
def test_malformed_xmp_gives_nothing(packet: str) -> None:
    assert find_traces([MetadataItem("jpeg:app1:xmp", "xmp", packet)]) == []


def test_xmp_with_garbage_around_the_packet() -> None:
    item = dst(DST + "trainedAlgorithmicMedia")
    padded = dataclasses.replace(item, value="\ufeff\x00junk " + item.value + "\x00\x00 trailing")
    assert [t.claim for t in find_traces([padded])] == [AI]


def test_xml_declaration_and_xpacket_are_tolerated() -> None:
    item = dst(DST + "trainedAlgorithmicMedia")
    # Jimeng writes <?xml ...?> before the xpacket PI (and an odd "??>" ending).
    value = '<?xml version="1.0" encoding="UTF-8"?><?xpacket begin="" id="W5M"??>' + item.value
    assert [t.claim for t in find_traces([dataclasses.replace(item, value=value)])] == [AI]


def test_oversized_values_are_ignored() -> None:
    big = "Steps: 20, Sampler: Euler " + "x" * MAX_VALUE
    assert find_traces([text("parameters", big)]) == []
    assert find_traces([text("parameters", ""), text("Software", "")]) == []


def test_accepts_any_iterable() -> None:
    assert len(find_traces(iter([text("parameters", A1111)]))) == 1
    assert find_traces([]) == []


# --------------------------------------------------------------------------------------------
# Fixtures (fixtures/media/traces/, generated by make.py)
# --------------------------------------------------------------------------------------------

TRACES = MEDIA / "traces"
FIXTURE_SOURCES = {
    "a1111.png": {("AUTOMATIC1111", AI)},
    "comfyui.png": {("ComfyUI", AI)},
    "novelai_stealth.png": set(),  # only the pixels carry it (test_stealth.py)
    "midjourney.jpg": {("Midjourney", AI), (DSTS, AI)},
    "lightroom.jpg": {(DSTS, NOT_AI)},
    "camera.jpg": set(),
}


def pillow_items(path: Path) -> list[MetadataItem]:
    """Metadata read with Pillow, independent of aiglabel's codecs."""
    image_mod = pytest.importorskip("PIL.Image")
    exif_tags = pytest.importorskip("PIL.ExifTags")
    items: list[MetadataItem] = []
    with image_mod.open(io.BytesIO(path.read_bytes())) as im:
        fmt = im.format.lower()
        for key, value in im.info.items():
            if key == "xmp" and isinstance(value, bytes):
                items.append(MetadataItem(f"{fmt}:xmp", "xmp", value.decode("utf-8")))
            elif isinstance(value, str) and fmt == "png":
                items.append(MetadataItem("png:text", key, value))
        for tag, value in im.getexif().items():
            if isinstance(value, str):
                items.append(MetadataItem(f"{fmt}:exif", exif_tags.TAGS.get(tag, str(tag)), value))
    return items


@pytest.mark.parametrize("name", sorted(FIXTURE_SOURCES))
def test_trace_fixtures(name: str) -> None:
    path = TRACES / name
    assert path.stat().st_size < 200 * 1024
    traces = find_traces(pillow_items(path))
    assert {(t.source, t.claim) for t in traces} == FIXTURE_SOURCES[name], traces


@pytest.mark.parametrize("name", sorted(FIXTURE_SOURCES))
def test_trace_fixtures_through_the_codecs(name: str) -> None:
    from aiglabel.registry import default_registry

    codec = default_registry.get("png" if name.endswith(".png") else "jpeg")
    if codec.metadata is CodecBase.metadata:
        pytest.skip(f"the {codec.name} codec does not expose metadata() yet")
    from aiglabel.verify import EvidenceKind, verify

    report = verify(TRACES / name)
    assert report.errors == []
    found = {e.detail.split(":", 1)[0] for e in report.evidence
             if e.kind is EvidenceKind.TRACE and e.detector == "generation-traces"}
    assert found == {source for source, _ in FIXTURE_SOURCES[name]}, report.to_dict()


def test_trace_is_hashable() -> None:
    trace = Trace("s", "c", "k", "d")
    assert {trace, Trace("s", "c", "k", "d")} == {trace}
    assert (trace.claim, trace.tier, trace.weight) == ("ai-generated", 5, "strong")


@pytest.mark.parametrize(
    ("carrier", "key"),
    [("mp3:id3v2", "TSSE"), ("wav:LIST:INFO", "ISFT"), ("flac:vorbis", "ENCODER"),
     ("mp4:ilst", "\xa9too"), ("mkv:tags", "WRITING_APP")],
)
def test_audio_video_software_fields_carry_generator_tokens(carrier: str, key: str) -> None:
    hit = find_traces([MetadataItem(carrier, key, "made with ComfyUI 0.3")])
    assert [(t.source, t.key, t.claim) for t in hit] == [("generator token", key, "ai-generated")]
    assert find_traces([MetadataItem(carrier, key, "Lavf62.12.102")]) == []
    assert find_traces([MetadataItem(carrier, key, "influx mixer")]) == []
