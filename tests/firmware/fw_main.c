/*
 * Test firmware around the femtojit C runtime: the test (tests/firmware/fwkit.py) loads this
 * image into Unicorn, fills fw_mailbox, calls fw_main and reads the mailbox back.
 *
 * Built three ways:
 *   plain             the blob is wherever fw_mailbox.blob_addr says (the test writes it)
 *   -DFW_LINKED=name  the blob is the `elf` output `name.o` linked in: name_blob, and
 *                     fjit_container_use_entry(&c, name) runs the linked code
 *   -DFW_ARRAY=name   the blob is the `c` output compiled in: name[] and name_len
 */
#include "femtojit.h"

#define FW_MAX_RUNS 4
#define FW_DATA_RAM 4096
#define FW_CTX_SIZE 4096

typedef struct {
    int64_t result[FW_MAX_RUNS];      /*   0 out */
    int32_t exec_status[FW_MAX_RUNS]; /*  32 out */
    uint32_t blob_addr;               /*  48 in */
    uint32_t blob_len;                /*  52 in */
    uint32_t ctx_addr;                /*  56 in: 0 = fw_ctx */
    uint32_t ctx_len;                 /*  60 in */
    uint32_t budget;                  /*  64 in */
    uint32_t data_ram_len;            /*  68 in */
    uint32_t stack_addr;              /*  72 in: 0 = fw_stack */
    uint32_t runs;                    /*  76 in */
    uint32_t host_addr;               /*  80 in: host region (0 = none) */
    uint32_t host_len;                /*  84 in */
    uint32_t host_flags;              /*  88 in */
    int32_t check_status;             /*  92 out */
    int32_t resolve_status;           /*  96 out */
    int32_t init_status;              /* 100 out */
    int32_t use_entry_status;         /* 104 out */
    int32_t add_region_status;        /* 108 out */
    uint32_t n_imports;               /* 112 out */
    uint32_t default_budget;          /* 116 out */
    uint32_t stage;                   /* 120 out: how far fw_main got */
} fw_mailbox_t;

FJIT_STATIC_ASSERT(offsetof(fw_mailbox_t, blob_addr) == 48, mailbox_blob_addr);
FJIT_STATIC_ASSERT(offsetof(fw_mailbox_t, stage) == 120, mailbox_stage);

fw_mailbox_t fw_mailbox;
fjit_container_t fw_container;
fjit_helper_t fw_helpers[16]; /* a callx blob imports every helper the host has (9 in rfc) */
uint32_t fw_fc_value = 0x5EEDu;

/* The container's regions, at the canonical addresses of femtojit/memmap.py. */
__attribute__((section(".fjit_stack"), aligned(8))) uint8_t fw_stack[FJIT_STACK_SIZE];
__attribute__((section(".fjit_data"), aligned(8))) uint8_t fw_data_ram[FW_DATA_RAM];
__attribute__((section(".fjit_ctx"), aligned(8))) uint8_t fw_ctx[FW_CTX_SIZE];

/* Helper 0x10: r1 + 3 * r2 + *fc; also leaves 0x1111 in r3 (helpers may rewrite r1-r5). */
static uint32_t fw_helper_sum(void *fc, uint64_t *regs)
{
    regs[3] = 0x1111u;
    return (uint32_t)(regs[1] + 3u * regs[2] + *(const uint32_t *)fc);
}

/* Helper 0x11: the 32-bit word at r1, if the container may read it; else a fault. */
static uint32_t fw_helper_read(void *fc, uint64_t *regs)
{
    uint32_t addr = (uint32_t)regs[1];
    const uint8_t *p = (const uint8_t *)(uintptr_t)addr;
    (void)fc;
    if (fjit_vm_check_access(FJIT_VM_FROM_REGS(regs), addr, 4, FJIT_REGION_READ) != FJIT_OK) {
        FJIT_HELPER_FAULT(regs, FJIT_ILLEGAL_MEM);
        return 0xBADu;
    }
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Helper 0x12: stores the low word of r2 at r1, if the container may write there. */
static uint32_t fw_helper_write(void *fc, uint64_t *regs)
{
    uint32_t addr = (uint32_t)regs[1];
    uint32_t value = (uint32_t)regs[2];
    uint8_t *p = (uint8_t *)(uintptr_t)addr;
    (void)fc;
    if (fjit_vm_check_access(FJIT_VM_FROM_REGS(regs), addr, 4, FJIT_REGION_WRITE) != FJIT_OK) {
        FJIT_HELPER_FAULT(regs, FJIT_ILLEGAL_MEM);
        return 0xBADu;
    }
    p[0] = (uint8_t)value;
    p[1] = (uint8_t)(value >> 8);
    p[2] = (uint8_t)(value >> 16);
    p[3] = (uint8_t)(value >> 24);
    return 1;
}

/* Helper 5, the conformance suite's "unwind": returns r1, all 64 bits (an rfc helper). */
static uint64_t fw_helper_unwind(void *fc, uint64_t *regs)
{
    (void)fc;
    return regs[1];
}

static const fjit_helper_entry_t fw_helper_table[] = {
    {0x05u, FJIT_HELPER64(fw_helper_unwind)},
    {0x10u, fw_helper_sum},
    {0x11u, fw_helper_read},
    {0x12u, fw_helper_write},
};

#if defined(FW_LINKED) || defined(FW_ARRAY)
#define FW_CAT(a, b) a##b
#define FW_XCAT(a, b) FW_CAT(a, b)
#endif
#ifdef FW_LINKED
extern const uint8_t FW_XCAT(FW_LINKED, _blob)[];
extern const uint32_t FW_XCAT(FW_LINKED, _blob_len);
int32_t FW_LINKED(fjit_vm_t *vm);
#endif
#ifdef FW_ARRAY
extern const uint8_t FW_ARRAY[];
extern const size_t FW_XCAT(FW_ARRAY, _len);
#endif

int32_t fw_main(void);
void fw_stop(void);

int32_t fw_main(void)
{
    fw_mailbox_t *m = &fw_mailbox;
    fjit_container_t *c = &fw_container;
    const void *blob = (const void *)(uintptr_t)m->blob_addr;
    size_t blob_len = m->blob_len;
    uint8_t *stack = m->stack_addr ? (uint8_t *)(uintptr_t)m->stack_addr : fw_stack;
    void *ctx = m->ctx_addr ? (void *)(uintptr_t)m->ctx_addr : (void *)fw_ctx;
    uint32_t i;

#ifdef FW_LINKED
    blob = FW_XCAT(FW_LINKED, _blob);
    blob_len = FW_XCAT(FW_LINKED, _blob_len);
    m->blob_addr = (uint32_t)(uintptr_t)blob;
    m->blob_len = (uint32_t)blob_len;
#endif
#ifdef FW_ARRAY
    blob = FW_ARRAY;
    blob_len = FW_XCAT(FW_ARRAY, _len);
    m->blob_addr = (uint32_t)(uintptr_t)blob;
    m->blob_len = (uint32_t)blob_len;
#endif
    m->stage = 1;
    m->check_status = fjit_blob_check(blob, blob_len, FJIT_TARGET_NATIVE);
    if (m->check_status != FJIT_OK) {
        /* init must refuse the same blob for the same reason */
        m->init_status = fjit_container_init(c, blob, blob_len, fw_data_ram, m->data_ram_len,
                                             stack, fw_helpers, &fw_fc_value);
        return m->check_status;
    }
    m->stage = 2;
    m->n_imports = fjit_blob_import_count(blob);
    m->resolve_status =
        fjit_resolve_imports(blob, fw_helper_table,
                             sizeof(fw_helper_table) / sizeof(fw_helper_table[0]), fw_helpers,
                             sizeof(fw_helpers) / sizeof(fw_helpers[0]));
    if (m->resolve_status != FJIT_OK) {
        return m->resolve_status;
    }
    m->stage = 3;
    m->init_status = fjit_container_init(c, blob, blob_len, fw_data_ram, m->data_ram_len, stack,
                                         fw_helpers, &fw_fc_value);
    if (m->init_status != FJIT_OK) {
        return m->init_status;
    }
    m->stage = 4;
#ifdef FW_LINKED
    m->use_entry_status = fjit_container_use_entry(c, FW_LINKED);
    if (m->use_entry_status != FJIT_OK) {
        return m->use_entry_status;
    }
#endif
    m->stage = 5;
    if (m->host_addr != 0) {
        m->add_region_status =
            fjit_add_region(c, (const void *)(uintptr_t)m->host_addr, m->host_len, m->host_flags);
        if (m->add_region_status < 0) {
            return m->add_region_status;
        }
    }
    m->stage = 6;
    m->default_budget = fjit_container_default_budget(c);
    for (i = 0; i < m->runs && i < FW_MAX_RUNS; i++) {
        m->exec_status[i] = fjit_execute_ctx(c, ctx, m->ctx_len, m->budget, &m->result[i]);
    }
    m->stage = 7;
    return m->runs ? m->exec_status[0] : FJIT_OK;
}

/* The test returns here: fw_main is entered with the return address set to fw_stop. */
void fw_stop(void)
{
    for (;;) {
    }
}
