"""Texts in scripts written without spaces between words, each with an edited copy and an unrelated text.

Per script: `original` (a short news item: heavy rain in a capital city), `edited` (the same
with two words changed) and `unrelated` (another item: crop prices). Thai, Lao, Khmer and Myanmar
are written by hand; Javanese and Tai Tham, which have no ICU word dictionary, are syllables drawn
from a seeded generator (only their shape matters: letters with vowel signs, no spaces).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """Three texts in one script; `edited` differs from `original` in two words."""

    script: str
    original: str
    edited: str
    unrelated: str


def _edit(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert text.count(old) >= 1, old
        text = text.replace(old, new, 1)
    return text


THAI_RAIN = (
    "กรุงเทพมหานครมีฝนตกหนักตลอดทั้งคืนทำให้น้ำท่วมถนนหลายสายในเขตชั้นใน "
    "ประชาชนจำนวนมากต้องเดินทางไปทำงานสายกว่าปกติ "
    "เจ้าหน้าที่สำนักการระบายน้ำเร่งสูบน้ำออกจากพื้นที่ลุ่มต่ำตั้งแต่เช้ามืด "
    "กรมอุตุนิยมวิทยาคาดว่าฝนจะตกต่อเนื่องอีกสามวันและขอให้ประชาชนติดตามข่าวสารอย่างใกล้ชิด "
    "โรงเรียนบางแห่งประกาศหยุดการเรียนการสอนเพื่อความปลอดภัยของนักเรียน "
    "ส่วนรถไฟฟ้ายังให้บริการตามปกติแต่มีผู้โดยสารหนาแน่นกว่าทุกวัน"
)
THAI_RICE = (
    "ราคาข้าวหอมมะลิในตลาดต่างประเทศปรับตัวสูงขึ้นเป็นครั้งแรกในรอบหกเดือน "
    "เนื่องจากความต้องการจากประเทศในแอฟริกาและตะวันออกกลางเพิ่มขึ้นอย่างมาก "
    "สมาคมผู้ส่งออกข้าวไทยระบุว่าผลผลิตปีนี้ลดลงเพราะภัยแล้งในภาคอีสาน "
    "เกษตรกรหลายรายจึงเลือกเก็บข้าวไว้ในยุ้งฉางเพื่อรอขายในราคาที่ดีกว่า "
    "นักวิเคราะห์เชื่อว่าราคาจะยังคงสูงต่อไปจนถึงปลายปี และรัฐบาลกำลังพิจารณามาตรการช่วยเหลือผู้ปลูกข้าวรายย่อย"
)
LAO_RAIN = (
    "ນະຄອນຫຼວງວຽງຈັນມີຝົນຕົກໜັກຕະຫຼອດຄືນ ເຮັດໃຫ້ນ້ຳຖ້ວມຖະໜົນຫຼາຍສາຍໃນເຂດໃຈກາງເມືອງ "
    "ປະຊາຊົນຈຳນວນຫຼາຍຕ້ອງເດີນທາງໄປເຮັດວຽກຊ້າກວ່າປົກກະຕິ "
    "ເຈົ້າໜ້າທີ່ໄດ້ເລັ່ງສູບນ້ຳອອກຈາກພື້ນທີ່ລຸ່ມຕັ້ງແຕ່ເຊົ້າມືດ "
    "ກົມອຸຕຸນິຍົມຄາດວ່າຝົນຈະຕົກຕໍ່ເນື່ອງອີກສາມມື້ ແລະ ຂໍໃຫ້ປະຊາຊົນຕິດຕາມຂ່າວສານຢ່າງໃກ້ຊິດ "
    "ໂຮງຮຽນບາງແຫ່ງໄດ້ປະກາດຢຸດການຮຽນການສອນເພື່ອຄວາມປອດໄພຂອງນັກຮຽນ"
)
LAO_COFFEE = (
    "ລາຄາກາເຟຈາກແຂວງຈຳປາສັກໃນຕະຫຼາດສາກົນໄດ້ເພີ່ມຂຶ້ນເປັນຄັ້ງທຳອິດໃນຮອບຫົກເດືອນ "
    "ຍ້ອນຄວາມຕ້ອງການຈາກປະເທດຍີ່ປຸ່ນ ແລະ ເກົາຫຼີເພີ່ມຂຶ້ນຢ່າງຫຼວງຫຼາຍ "
    "ສະມາຄົມຜູ້ສົ່ງອອກກາເຟລາວກ່າວວ່າຜົນຜະລິດປີນີ້ຫຼຸດລົງຍ້ອນໄພແຫ້ງແລ້ງ "
    "ຊາວກະສິກອນຫຼາຍຄົນຈຶ່ງເລືອກເກັບເມັດກາເຟໄວ້ເພື່ອລໍຖ້າຂາຍໃນລາຄາທີ່ດີກວ່າ "
    "ນັກວິເຄາະເຊື່ອວ່າລາຄາຈະຍັງສູງຕໍ່ໄປຈົນຮອດທ້າຍປີ"
)
KHMER_RAIN = (
    "រាជធានីភ្នំពេញមានភ្លៀងធ្លាក់ខ្លាំងពេញមួយយប់ ធ្វើឱ្យទឹកជន់លិចផ្លូវជាច្រើននៅកណ្តាលទីក្រុង "
    "ប្រជាពលរដ្ឋជាច្រើនត្រូវធ្វើដំណើរទៅធ្វើការយឺតជាងធម្មតា "
    "មន្ត្រីជំនាញបានប្រញាប់បូមទឹកចេញពីតំបន់ទំនាបតាំងពីព្រលឹម "
    "ក្រសួងធនធានទឹកព្យាករថាភ្លៀងនឹងបន្តធ្លាក់រយៈពេលបីថ្ងៃទៀត ហើយសុំឱ្យប្រជាពលរដ្ឋតាមដានព័ត៌មានជាប្រចាំ "
    "សាលារៀនខ្លះបានប្រកាសផ្អាកការសិក្សាដើម្បីសុវត្ថិភាពរបស់សិស្ស"
)
KHMER_RICE = (
    "តម្លៃអង្ករក្រអូបនៅលើទីផ្សារអន្តរជាតិបានកើនឡើងជាលើកដំបូងក្នុងរយៈពេលប្រាំមួយខែ "
    "ដោយសារតម្រូវការពីប្រទេសនៅអាហ្វ្រិកនិងមជ្ឈិមបូព៌ាកើនឡើងយ៉ាងខ្លាំង "
    "សហព័ន្ធស្រូវអង្ករកម្ពុជាបាននិយាយថាទិន្នផលឆ្នាំនេះបានធ្លាក់ចុះដោយសារគ្រោះរាំងស្ងួត "
    "កសិករជាច្រើនបានជ្រើសរើសរក្សាស្រូវទុកក្នុងជង្រុកដើម្បីរង់ចាំលក់ក្នុងតម្លៃល្អជាង "
    "អ្នកវិភាគជឿថាតម្លៃនឹងនៅតែខ្ពស់រហូតដល់ចុងឆ្នាំ"
)
MYANMAR_RAIN = (
    "ရန်ကုန်မြို့တွင် တစ်ညလုံး မိုးသည်းထန်စွာ ရွာသွန်းခဲ့သဖြင့် မြို့လယ်ရှိ လမ်းများစွာ ရေကြီးရေလျှံခဲ့သည်။ "
    "ပြည်သူအများအပြားသည် အလုပ်သို့ ပုံမှန်ထက် နောက်ကျစွာ သွားရောက်ခဲ့ရသည်။ "
    "တာဝန်ရှိသူများက နံနက်စောစောကတည်းက နိမ့်ဝှမ်းသောနေရာများမှ ရေများကို စုပ်ထုတ်ခဲ့ကြသည်။ "
    "မိုးလေဝသဌာနက နောက်ထပ် သုံးရက်ကြာ မိုးဆက်ရွာမည်ဟု ခန့်မှန်းထားပြီး "
    "ပြည်သူများ သတင်းများကို အနီးကပ် စောင့်ကြည့်ရန် တိုက်တွန်းထားသည်။ "
    "ကျောင်းအချို့သည် ကျောင်းသားများ၏ လုံခြုံရေးအတွက် စာသင်ခြင်းကို ရပ်ဆိုင်းကြောင်း ကြေညာခဲ့သည်။"
)
MYANMAR_RICE = (
    "နိုင်ငံတကာဈေးကွက်တွင် မြန်မာဆန်ဈေးနှုန်းသည် ခြောက်လအတွင်း ပထမဆုံးအကြိမ် မြင့်တက်လာခဲ့သည်။ "
    "အာဖရိကနှင့် အရှေ့အလယ်ပိုင်းနိုင်ငံများမှ ဝယ်လိုအား များစွာ တိုးလာခြင်းကြောင့် ဖြစ်သည်။ "
    "ဆန်တင်ပို့ရောင်းချသူများအသင်းက ယခုနှစ် အထွက်နှုန်းသည် မိုးခေါင်ခြင်းကြောင့် ကျဆင်းခဲ့ကြောင်း ပြောကြားသည်။ "
    "လယ်သမားအများအပြားသည် ပိုမိုကောင်းမွန်သော ဈေးနှုန်းဖြင့် ရောင်းချရန် စပါးများကို ဂိုဒေါင်တွင် သိုလှောင်ထားကြသည်။ "
    "ဈေးကွက်လေ့လာသူများက ဈေးနှုန်းသည် နှစ်ကုန်အထိ မြင့်မားနေဦးမည်ဟု ယုံကြည်ကြသည်။"
)


def syllables(seed: int, consonants: range, vowel_signs: range, count: int, stop: str) -> str:
    """`count` seeded syllables (a consonant and maybe a vowel sign), no spaces, a `stop` every 12."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(count):
        out.append(chr(rng.choice(consonants)))
        if rng.random() < 0.7:
            out.append(chr(rng.choice(vowel_signs)))
        if i % 12 == 11:
            out.append(stop)
    return "".join(out)


def _generated(script: str, consonants: range, vowel_signs: range, stop: str) -> Sample:
    original = syllables(1, consonants, vowel_signs, 240, stop)
    unrelated = syllables(2, consonants, vowel_signs, 240, stop)
    # Two "words" (runs of syllables) replaced by others of the same script.
    third, two_thirds = len(original) // 3, 2 * len(original) // 3
    word_a = syllables(3, consonants, vowel_signs, 3, "")
    word_b = syllables(4, consonants, vowel_signs, 3, "")
    edited = (
        original[:third] + word_a + original[third + 5 : two_thirds] + word_b + original[two_thirds + 5 :]
    )
    return Sample(script, original, edited, unrelated)


SAMPLES = [
    Sample("Thai", THAI_RAIN, _edit(THAI_RAIN, ("ตกหนัก", "ตกปรอย"), ("สามวัน", "ห้าวัน")), THAI_RICE),
    Sample("Lao", LAO_RAIN, _edit(LAO_RAIN, ("ຕົກໜັກ", "ຕົກຫຼາຍ"), ("ສາມມື້", "ສີ່ມື້")), LAO_COFFEE),
    Sample("Khmer", KHMER_RAIN, _edit(KHMER_RAIN, ("ខ្លាំង", "តិចៗ"), ("បីថ្ងៃ", "ប្រាំថ្ងៃ")), KHMER_RICE),
    Sample(
        "Myanmar",
        MYANMAR_RAIN,
        _edit(MYANMAR_RAIN, ("သုံးရက်", "ငါးရက်"), ("သည်းထန်စွာ", "အနည်းငယ်")),
        MYANMAR_RICE,
    ),
    _generated("Javanese", range(0xA98F, 0xA9B3), range(0xA9B4, 0xA9BE), "\ua9c9"),
    _generated("Tai Tham", range(0x1A20, 0x1A4D), range(0x1A61, 0x1A75), "\u1aa8"),
]
