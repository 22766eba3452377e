"""rv32imc through the public surface: `femtojit translate --target rv32imc` in every format
(the ELF object linked by riscv64-unknown-elf-gcc for rv32imc/ilp32), listings, validation,
`femtojit run --engine rv32imc`, and the taken-branch budget running out at exactly the
201st taken branch."""

from __future__ import annotations

import json
import subprocess

import pytest
from backend_support import check_budget_runs_out
from conftest import REPO, require_tool

import femtojit
from femtojit.blob import parse_blob
from femtojit.cli import main as cli_main

FLETCHER_BIN = REPO / "examples" / "fletcher32.bin"


def test_translate_command_formats_and_listings(capsys, tmp_path):
    require_tool("riscv64-unknown-elf-objdump")
    out = tmp_path / "fletcher.fjit"
    status = cli_main(["translate", str(FLETCHER_BIN), "--target", "rv32imc", "--stats",
                       "--dump-ir", "--disasm", "--validate", "6", "-o", str(out)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "validated rv32imc" in text and "code bytes" in text
    assert "c.lw" in text or "lw\t" in text  # objdump decoded the (compressed) code
    blob = parse_blob(out.read_bytes())
    assert blob.target == "rv32imc" and blob.budget == 200
    c_file = tmp_path / "prog.c"
    assert cli_main(["translate", str(FLETCHER_BIN), "-t", "rv32imc", "-f", "c",
                     "-o", str(c_file)]) == 0
    assert b"uint8_t prog[]" in c_file.read_bytes()


def test_elf_object_links_with_the_rv32_toolchain(tmp_path):
    """The `elf` output is a relocatable object the target's gcc links for rv32imc/ilp32;
    the linked function is byte for byte the blob's code."""
    gcc = require_tool("riscv64-unknown-elf-gcc")
    objcopy = require_tool("riscv64-unknown-elf-objcopy")
    obj = tmp_path / "fletcher.o"
    assert cli_main(["translate", str(FLETCHER_BIN), "-t", "rv32imc", "-f", "elf",
                     "--name", "fletcher", "-o", str(obj)]) == 0
    main_c = tmp_path / "main.c"
    main_c.write_text(
        "extern int fletcher(void *vm);\n"
        "extern const unsigned char fletcher_blob[];\n"
        "int _start(void *vm) { return fletcher(vm) + fletcher_blob[0]; }\n")
    image = tmp_path / "image.elf"
    subprocess.run([gcc, "-march=rv32imc", "-mabi=ilp32", "-O2", "-nostdlib", "-ffreestanding",
                    "-Wl,-e,_start", "-o", str(image), str(main_c), str(obj)], check=True)
    text = tmp_path / "text.bin"
    subprocess.run([objcopy, "-O", "binary", "--only-section", ".text", str(image), str(text)],
                   check=True)
    symbols = subprocess.run([require_tool("riscv64-unknown-elf-nm"), str(image)],
                             capture_output=True, text=True, check=True).stdout
    address = {line.split()[2]: int(line.split()[0], 16) for line in symbols.splitlines()
               if len(line.split()) == 3}
    headers = subprocess.run([require_tool("riscv64-unknown-elf-objdump"), "-h", str(image)],
                             capture_output=True, text=True, check=True).stdout
    text_vma = next(int(line.split()[3], 16) for line in headers.splitlines()
                    if len(line.split()) > 3 and line.split()[1] == ".text")
    code = femtojit.translate(femtojit.load(FLETCHER_BIN), target="rv32imc").code
    at = address["fletcher"] - text_vma
    assert text.read_bytes()[at:at + len(code)] == code


def test_run_command_with_the_rv32_engine(capsys, tmp_path):
    assert cli_main(["run", "--json", "--engine", "rv32imc", str(FLETCHER_BIN)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert cli_main(["run", "--json", str(FLETCHER_BIN)]) == 0
    interp = json.loads(capsys.readouterr().out)
    assert list(out) == list(interp)
    assert out["engine"] == "rv32imc" and out["result"] == interp["result"] == 0x5BAC8C3D
    prog = tmp_path / "p.s"
    prog.write_text("ldxw %r0, [%r1]\nexit\n")
    assert cli_main(["run", "--json", "--engine", "rv32imc", str(prog)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "illegal_mem" and out["code"] == -2


@pytest.mark.parametrize("taken", [0, 199, 200, 201, 250])
def test_budget_runs_out_at_exactly_the_201st_taken_branch(taken):
    tr, ctx, _ = check_budget_runs_out("rv32imc", taken)
    assert tr.validate(inputs=[ctx]).ok
