//! The reference data synthetic cases are drawn from: origin countries of Swiss return
//! assistance with their weights, plausible names, airports and carriers; the cantons'
//! weights; and the short texts of questions, reasons and reports.

/// An origin and destination country.
pub(crate) struct Country {
    pub code: &'static str,
    /// Relative share of cases.
    pub weight: u32,
    pub surnames: &'static [&'static str],
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    /// Arrival airports (IATA).
    pub airports: &'static [&'static str],
    /// Carriers serving the route from Switzerland (IATA airline codes).
    pub carriers: &'static [&'static str],
    /// A direct flight from Switzerland; otherwise one change at a hub.
    pub direct: bool,
    /// One-way ticket for an adult, in whole francs: lowest and highest.
    pub fare: (i64, i64),
}

/// The main origin countries (domain.md, "Volumes"). `UA` stands for status S returns from
/// March 2022 on; before that its draws go to the other countries.
#[rustfmt::skip]
pub(crate) const COUNTRIES: &[Country] = &[
    Country { code: "GE", weight: 10, direct: false, fare: (250, 600),
        surnames: &["Beridze", "Kapanadze", "Gelashvili", "Maisuradze", "Giorgadze", "Lomidze",
            "Tsiklauri", "Bolkvadze", "Kvaratskhelia", "Nozadze", "Abashidze", "Mikeladze",
            "Tabatadze", "Chikovani", "Japaridze", "Khutsishvili", "Mamaladze", "Gogoladze",
            "Dolidze", "Jikia"],
        male: &["Giorgi", "Davit", "Levan", "Irakli", "Nika", "Zurab", "Lasha", "Giga", "Luka",
            "Tornike", "Beka", "Mamuka", "Sandro", "Vakhtang", "Otar"],
        female: &["Nino", "Mariam", "Tamar", "Ana", "Ketevan", "Natia", "Eka", "Salome", "Nana",
            "Tamuna", "Lika", "Khatia", "Maia", "Sopho"],
        airports: &["TBS", "KUT"], carriers: &["TK", "LO", "A9"] },
    Country { code: "DZ", weight: 9, direct: true, fare: (200, 450),
        surnames: &["Benali", "Bouzid", "Belkacem", "Haddad", "Mansouri", "Boudiaf", "Saidi",
            "Hamidi", "Benaissa", "Cherif", "Khelifi", "Bensalem", "Brahimi", "Djebbar",
            "Meziane", "Ait Ahmed", "Amrani", "Boukhari", "Zerrouki", "Larbi"],
        male: &["Mohamed", "Yacine", "Karim", "Sofiane", "Amine", "Bilal", "Walid", "Nassim",
            "Riad", "Mourad", "Abdelkader", "Hichem", "Samir", "Farid", "Rachid"],
        female: &["Amina", "Samira", "Nadia", "Lynda", "Sarah", "Imane", "Meriem", "Yasmine",
            "Fatiha", "Karima", "Souad", "Nawel", "Rym", "Kheira"],
        airports: &["ALG", "ORN", "CZL"], carriers: &["AH", "AF"] },
    Country { code: "IQ", weight: 9, direct: false, fare: (350, 800),
        surnames: &["Hassan", "Ali", "Mohammed", "Ahmed", "Abdullah", "Hussein", "Kareem",
            "Jabbar", "Salih", "Qadir", "Rasul", "Aziz", "Othman", "Mahmood", "Hamid",
            "Younis", "Khalil", "Ibrahim", "Mustafa", "Faraj"],
        male: &["Karim", "Ahmed", "Mohammed", "Ali", "Omar", "Hussein", "Mustafa", "Zaid",
            "Haider", "Rebwar", "Dilshad", "Sarbast", "Hawar", "Yousif", "Ammar"],
        female: &["Fatima", "Zainab", "Noor", "Sara", "Shilan", "Rozhin", "Aveen", "Maryam",
            "Huda", "Layla", "Hana", "Dilan", "Ruqaya", "Shaima"],
        airports: &["EBL", "BGW", "ISU", "BSR"], carriers: &["TK", "RJ", "QR"] },
    Country { code: "TR", weight: 9, direct: true, fare: (200, 500),
        surnames: &["Yılmaz", "Kaya", "Demir", "Çelik", "Şahin", "Yıldız", "Aydın", "Öztürk",
            "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kurt", "Polat", "Ekinci", "Tekin",
            "Bulut", "Kaplan", "Acar"],
        male: &["Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "Murat", "Emre",
            "Serkan", "Deniz", "Baran", "Rojhat", "Welat", "Cem", "Kemal"],
        female: &["Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Meryem", "Şükran",
            "Berfin", "Rojda", "Dilan", "Gülistan", "Leyla", "Sultan"],
        airports: &["IST", "ESB", "ADA", "DIY", "VAN"], carriers: &["TK", "PC", "LX"] },
    Country { code: "UA", weight: 8, direct: false, fare: (150, 350),
        surnames: &["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Boyko",
            "Melnyk", "Oliynyk", "Lysenko", "Marchenko", "Savchenko", "Rudenko", "Moroz",
            "Petrenko", "Koval", "Polishchuk", "Tkachuk", "Kovalchuk", "Pavlenko", "Hnatyuk"],
        male: &["Oleksandr", "Andriy", "Serhiy", "Dmytro", "Volodymyr", "Mykola", "Ivan",
            "Yuriy", "Vasyl", "Maksym", "Artem", "Bohdan", "Taras", "Oleh", "Viktor"],
        female: &["Olena", "Tetiana", "Nataliia", "Iryna", "Oksana", "Svitlana", "Yuliia",
            "Kateryna", "Mariia", "Anastasiia", "Halyna", "Liudmyla", "Viktoriia", "Daria"],
        airports: &["RZE", "KRK"], carriers: &["LO", "LX"] },
    Country { code: "AF", weight: 6, direct: false, fare: (450, 900),
        surnames: &["Ahmadi", "Rahimi", "Hakimi", "Karimi", "Noori", "Sultani", "Haidari",
            "Mohammadi", "Amiri", "Rezaei", "Hashimi", "Jafari", "Sadat", "Popal", "Wardak",
            "Stanikzai", "Qaderi", "Azizi", "Sharifi", "Nazari"],
        male: &["Ahmad", "Mohammad", "Abdul", "Hamid", "Farid", "Rahim", "Jawad", "Naweed",
            "Sami", "Mustafa", "Bilal", "Ali", "Khalid", "Murtaza", "Hasib"],
        female: &["Fatima", "Zahra", "Maryam", "Parwana", "Shabnam", "Nargis", "Freshta",
            "Mahbooba", "Laila", "Sahar", "Farzana", "Hosai", "Marzia", "Nilofar"],
        airports: &["KBL", "HEA", "MZR"], carriers: &["TK", "FZ"] },
    Country { code: "TN", weight: 6, direct: true, fare: (180, 400),
        surnames: &["Ben Salah", "Trabelsi", "Gharbi", "Jaziri", "Hammami", "Mejri", "Ayari",
            "Dridi", "Jebali", "Ben Ammar", "Chaabane", "Sassi", "Mabrouk", "Ferchichi", "Ouni",
            "Bouazizi", "Khemiri", "Zouari", "Riahi", "Guesmi"],
        male: &["Mohamed", "Ahmed", "Ali", "Youssef", "Aymen", "Hamza", "Oussama", "Seifeddine",
            "Mehdi", "Bilel", "Anis", "Wassim", "Skander", "Hatem", "Nabil"],
        female: &["Amira", "Sana", "Ines", "Rim", "Mariem", "Asma", "Hiba", "Salma", "Nour",
            "Olfa", "Emna", "Yosra", "Sonia", "Wafa"],
        airports: &["TUN", "DJE", "MIR"], carriers: &["TU", "LX", "BJ"] },
    Country { code: "MA", weight: 6, direct: true, fare: (180, 400),
        surnames: &["El Amrani", "Benjelloun", "Alaoui", "El Idrissi", "Bennani", "Tazi",
            "Berrada", "El Fassi", "Chraibi", "Ouazzani", "Lahlou", "Zaidi", "El Khattabi",
            "Bouzidi", "Naciri", "Ziani", "El Mansouri", "Rachidi", "Amrani", "Haddaoui"],
        male: &["Youssef", "Mohamed", "Hamza", "Omar", "Anas", "Ayoub", "Mehdi", "Soufiane",
            "Adil", "Rachid", "Hicham", "Khalid", "Ilyas", "Zakaria", "Nabil"],
        female: &["Fatima Zahra", "Khadija", "Salma", "Imane", "Hajar", "Meryem", "Zineb",
            "Nadia", "Sanaa", "Houda", "Loubna", "Asmae", "Siham", "Kawtar"],
        airports: &["CMN", "RAK", "TNG", "NDR"], carriers: &["AT", "LX", "U2"] },
    Country { code: "NG", weight: 5, direct: false, fare: (500, 1000),
        surnames: &["Okafor", "Adeyemi", "Okonkwo", "Eze", "Bello", "Ibrahim", "Olawale",
            "Nwosu", "Chukwu", "Adebayo", "Balogun", "Obi", "Igwe", "Afolabi", "Ogunleye",
            "Uche", "Musa", "Onyeka", "Ojo", "Akinola"],
        male: &["Chinedu", "Emeka", "Oluwaseun", "Ibrahim", "Tunde", "Ikenna", "Babatunde",
            "Chukwuemeka", "Samuel", "Daniel", "Uchenna", "Segun", "Musa", "Kelechi", "Femi"],
        female: &["Ngozi", "Chioma", "Aisha", "Blessing", "Funmilayo", "Adaeze", "Amaka",
            "Yetunde", "Grace", "Esther", "Folake", "Nneka", "Precious", "Halima"],
        airports: &["LOS", "ABV", "PHC"], carriers: &["TK", "ET", "LH", "AF"] },
    Country { code: "LK", weight: 4, direct: false, fare: (550, 1000),
        surnames: &["Sivakumar", "Tharmalingam", "Rajendran", "Kanagaratnam", "Selvarajah",
            "Balasubramaniam", "Nadarajah", "Ponnambalam", "Thevarajah", "Yogarajah",
            "Sritharan", "Kandasamy", "Vijayakumar", "Arulanantham", "Mahendran", "Perera",
            "Fernando", "Jeyakumar", "Sinnathamby", "Ratnam"],
        male: &["Suresh", "Kumaran", "Prakash", "Thiru", "Ganesh", "Rajan", "Sathees", "Nirosh",
            "Kajan", "Mathan", "Sivaram", "Anton", "Dinesh", "Vithushan", "Pirabu"],
        female: &["Priya", "Kavitha", "Sumathi", "Tharshini", "Nirmala", "Vasanthi", "Lakshmi",
            "Jeyanthi", "Malathi", "Suganya", "Anusha", "Rajani", "Thanuja", "Kalaivani"],
        airports: &["CMB"], carriers: &["QR", "EK", "UL"] },
    Country { code: "XK", weight: 3, direct: true, fare: (150, 350),
        surnames: &["Krasniqi", "Gashi", "Berisha", "Morina", "Shala", "Hoxha", "Kastrati",
            "Bytyqi", "Rexhepi", "Hasani", "Ahmeti", "Kryeziu", "Musliu", "Selimi", "Zeqiri",
            "Bajrami", "Mustafa", "Halili", "Sopjani", "Rama"],
        male: &["Arben", "Besnik", "Driton", "Fatmir", "Valon", "Agron", "Blerim", "Ilir",
            "Shpend", "Arton", "Visar", "Liridon", "Dardan", "Leutrim", "Florent"],
        female: &["Albana", "Blerta", "Drita", "Vjosa", "Arta", "Fjolla", "Donika", "Teuta",
            "Mimoza", "Lirije", "Shqipe", "Valbona", "Edona", "Qëndresa"],
        airports: &["PRN"], carriers: &["LX", "EW", "W6"] },
    Country { code: "AL", weight: 3, direct: true, fare: (150, 350),
        surnames: &["Hoxha", "Shehu", "Dervishi", "Leka", "Kola", "Marku", "Gjoka", "Çela",
            "Prifti", "Basha", "Dushku", "Koçi", "Gjini", "Lleshi", "Xhafa", "Mema", "Hysa",
            "Brahimi", "Topalli", "Sula"],
        male: &["Ardit", "Erion", "Klodian", "Gentian", "Eduart", "Altin", "Ermal", "Dritan",
            "Elton", "Besmir", "Indrit", "Fation", "Saimir", "Olsi", "Kristi"],
        female: &["Elira", "Anisa", "Klea", "Jonida", "Ermira", "Brunilda", "Entela", "Mirela",
            "Dorina", "Alketa", "Rezarta", "Enkeleda", "Xhesika", "Megi"],
        airports: &["TIA"], carriers: &["LX", "W6", "EW"] },
    Country { code: "RS", weight: 3, direct: true, fare: (150, 350),
        surnames: &["Jovanović", "Petrović", "Nikolić", "Marković", "Đorđević", "Stojanović",
            "Ilić", "Stanković", "Pavlović", "Popović", "Živković", "Kostić", "Ristić",
            "Todorović", "Mitić", "Savić", "Lazić", "Ranković", "Bogdanović", "Demirović"],
        male: &["Nikola", "Marko", "Stefan", "Miloš", "Aleksandar", "Dragan", "Nenad", "Zoran",
            "Dejan", "Milan", "Vladimir", "Goran", "Bojan", "Ivan", "Srđan"],
        female: &["Jelena", "Milica", "Ana", "Marija", "Ivana", "Dragana", "Snežana", "Tijana",
            "Jovana", "Maja", "Vesna", "Gordana", "Aleksandra", "Katarina"],
        airports: &["BEG", "INI"], carriers: &["JU", "LX", "W6"] },
    Country { code: "MK", weight: 3, direct: true, fare: (150, 350),
        surnames: &["Stojanovski", "Nikolovski", "Petrovski", "Trajkovski", "Jovanovski",
            "Dimitrovski", "Ristovski", "Angelovski", "Georgievski", "Kostovski", "Mitrevski",
            "Ilievski", "Spasovski", "Stefanovski", "Memeti", "Ademi", "Rexhepi", "Iseni",
            "Sulejmani", "Aliu"],
        male: &["Aleksandar", "Goran", "Dejan", "Zoran", "Bojan", "Igor", "Vlatko", "Filip",
            "Darko", "Nikola", "Arbër", "Burim", "Agim", "Fisnik", "Ljupčo"],
        female: &["Elena", "Marija", "Biljana", "Jasmina", "Ivana", "Sanja", "Vesna", "Katerina",
            "Aneta", "Simona", "Arbnora", "Lindita", "Merita", "Fatime"],
        airports: &["SKP", "OHD"], carriers: &["W6", "LX"] },
    Country { code: "IR", weight: 3, direct: false, fare: (400, 850),
        surnames: &["Hosseini", "Mohammadi", "Ahmadi", "Rezaei", "Moradi", "Karimi", "Jafari",
            "Rahimi", "Sadeghi", "Mousavi", "Ghasemi", "Kazemi", "Heidari", "Rostami", "Asadi",
            "Ebrahimi", "Hashemi", "Nazari", "Shahbazi", "Azizi"],
        male: &["Ali", "Reza", "Mohammad", "Hossein", "Mehdi", "Amir", "Hamid", "Saeed",
            "Behnam", "Farhad", "Kaveh", "Arash", "Omid", "Babak", "Dariush"],
        female: &["Maryam", "Fatemeh", "Zahra", "Sara", "Leila", "Shirin", "Neda", "Parisa",
            "Mahsa", "Nazanin", "Roya", "Azadeh", "Mina", "Elham"],
        airports: &["IKA", "MHD", "SYZ"], carriers: &["TK", "QR", "IR"] },
    Country { code: "MN", weight: 3, direct: false, fare: (600, 1100),
        surnames: &["Ganbold", "Enkhbayar", "Tsogt", "Batbayar", "Purevdorj", "Gantulga",
            "Altangerel", "Munkhbat", "Erdenebat", "Tumurbaatar", "Sukhbaatar", "Otgonbayar",
            "Baatar", "Dorj", "Ochirbat", "Chuluun", "Byambaa", "Nyamdorj", "Davaa",
            "Bat-Erdene"],
        male: &["Ganzorig", "Temuujin", "Bilguun", "Tuguldur", "Munkh-Orgil", "Erdene",
            "Batbold", "Anar", "Tsogtbayar", "Khurelbaatar", "Sukh", "Ganbaatar", "Nyambayar",
            "Batzorig", "Enkhtaivan"],
        female: &["Oyunchimeg", "Enkhjargal", "Sarnai", "Solongo", "Nomin", "Anu", "Khulan",
            "Bolormaa", "Tsetseg", "Altantsetseg", "Undraa", "Oyuka", "Delger", "Maralmaa"],
        airports: &["UBN"], carriers: &["TK", "OM"] },
    Country { code: "CO", weight: 3, direct: false, fare: (600, 1200),
        surnames: &["García", "Rodríguez", "Martínez", "López", "González", "Hernández", "Gómez",
            "Díaz", "Sánchez", "Ramírez", "Torres", "Moreno", "Rojas", "Vargas", "Castro",
            "Ortiz", "Jiménez", "Muñoz", "Cárdenas", "Ospina"],
        male: &["Juan Carlos", "Andrés", "Carlos", "Jorge", "Luis Fernando", "Santiago", "Diego",
            "Felipe", "Sebastián", "Camilo", "Alejandro", "Julián", "Oscar", "Mauricio", "Jhon"],
        female: &["María José", "Laura", "Valentina", "Daniela", "Paola", "Natalia", "Carolina",
            "Ana María", "Luisa", "Diana", "Sandra", "Yuliana", "Catalina", "Marcela"],
        airports: &["BOG", "MDE", "CLO"], carriers: &["IB", "AV", "AF"] },
    Country { code: "ER", weight: 2, direct: false, fare: (550, 1000),
        surnames: &["Tesfay", "Gebremedhin", "Tekle", "Habte", "Woldu", "Ghebreyesus", "Kidane",
            "Berhane", "Haile", "Mehari", "Asmerom", "Yohannes", "Tesfamariam", "Gebreab",
            "Araya", "Weldemichael", "Fitsum", "Negash", "Okbay", "Abraha"],
        male: &["Yonas", "Dawit", "Filmon", "Samuel", "Biniam", "Henok", "Tesfalem", "Robel",
            "Amanuel", "Mussie", "Efrem", "Aron", "Natnael", "Medhanie", "Kibrom"],
        female: &["Helen", "Senait", "Luwam", "Selam", "Semhar", "Yordanos", "Saba", "Rahwa",
            "Feven", "Elsa", "Mebrat", "Hiwet", "Winta", "Almaz"],
        airports: &["ASM"], carriers: &["TK", "FZ"] },
    Country { code: "SO", weight: 2, direct: false, fare: (600, 1100),
        surnames: &["Mohamed", "Abdi", "Hassan", "Ali", "Farah", "Warsame", "Osman", "Yusuf",
            "Omar", "Ahmed", "Jama", "Nur", "Aden", "Elmi", "Guled", "Hirsi", "Dahir", "Ismail",
            "Mohamud", "Abdullahi"],
        male: &["Abdirahman", "Mohamed", "Ahmed", "Abdullahi", "Hassan", "Yusuf", "Mustafe",
            "Abdikarim", "Liban", "Said", "Khalid", "Omar", "Bashir", "Ayanle", "Mahad"],
        female: &["Hodan", "Fadumo", "Sahra", "Hawa", "Asha", "Ubah", "Amina", "Khadra",
            "Halima", "Nasra", "Ifrah", "Muna", "Deeqa", "Ayan"],
        airports: &["MGQ", "HGA"], carriers: &["TK", "ET", "FZ"] },
    Country { code: "CN", weight: 2, direct: false, fare: (500, 1000),
        surnames: &["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
            "Xu", "Sun", "Ma", "Zhu", "Hu", "Guo", "Lin", "He", "Gao", "Luo"],
        male: &["Wei", "Jun", "Lei", "Tao", "Ming", "Hao", "Jie", "Qiang", "Bo", "Tenzin",
            "Jian", "Yong", "Feng", "Gang", "Chao"],
        female: &["Fang", "Li", "Na", "Xiu", "Ying", "Jing", "Min", "Yan", "Hui", "Dolma",
            "Lan", "Mei", "Xia", "Juan"],
        airports: &["PEK", "PVG", "CAN"], carriers: &["LX", "CA", "MU"] },
    Country { code: "PE", weight: 2, direct: false, fare: (650, 1200),
        surnames: &["Quispe", "Flores", "Huamán", "Mamani", "Rojas", "Chávez", "Ramos",
            "Mendoza", "Torres", "Vásquez", "Castillo", "Espinoza", "Gutiérrez", "Condori",
            "Cruz", "Sánchez", "Salazar", "Paredes", "Cárdenas", "Ccori"],
        male: &["José", "Luis", "Jorge", "Miguel Ángel", "Carlos", "Juan", "César", "Víctor",
            "Jhonatan", "Renzo", "Percy", "Wilmer", "Edwin", "Fredy", "Rubén"],
        female: &["Rosa", "María", "Milagros", "Carmen", "Yesenia", "Lucía", "Gladys", "Karina",
            "Roxana", "Elizabeth", "Flor", "Sonia", "Maribel", "Nelly"],
        airports: &["LIM", "CUZ"], carriers: &["IB", "KL", "LA"] },
];

/// Destinations other than the nationality (a person returning to where they lived before),
/// with their airports and carriers.
#[rustfmt::skip]
pub(crate) const THIRD_COUNTRIES: &[(&str, &str, &[&str], &[&str])] = &[
    // nationality, destination, airports, carriers
    ("AF", "IR", &["IKA", "MHD"], &["TK", "QR"]),
    ("IQ", "TR", &["IST", "DIY"], &["TK", "PC"]),
    ("SO", "KE", &["NBO"], &["ET", "KQ", "QR"]),
    ("ER", "ET", &["ADD"], &["ET", "TK"]),
];

/// Countries whose nationals need no Schengen visa: travel costs only (AsylV 2 Art. 62–64),
/// as in the starting list of the tariffs migration.
pub(crate) const VISA_EXEMPT: &[&str] = &["AL", "BA", "GE", "MD", "ME", "MK", "RS", "UA"];

/// Canton code and relative weight (resident population in thousands, 2023).
#[rustfmt::skip]
pub(crate) const CANTON_WEIGHTS: &[(&str, u32)] = &[
    ("ZH", 1605), ("BE", 1063), ("VD", 855), ("AG", 726), ("SG", 536), ("GE", 516),
    ("LU", 424), ("VS", 360), ("TI", 356), ("FR", 338), ("BL", 295), ("TG", 293),
    ("SO", 283), ("GR", 203), ("BS", 196), ("NE", 178), ("SZ", 166), ("ZG", 131),
    ("SH", 85), ("JU", 74), ("AR", 56), ("NW", 45), ("GL", 42), ("OW", 39), ("UR", 38),
    ("AI", 17),
];

/// Share of all cases opened by IOM's counselling in the federal asylum centres, in percent.
pub(crate) const FEDERAL_CENTRE_PERCENT: u32 = 12;

/// Departure airport for a canton or federal region prefix: Geneva for the French-speaking
/// west, Basel (now and then) for the north-west, Zurich otherwise.
pub(crate) fn departure_airports(prefix: &str) -> &'static [&'static str] {
    match prefix {
        "GE" | "VD" | "NE" | "JU" | "FR" | "VS" | "FWE" => &["GVA"],
        "BS" | "BL" | "FNW" => &["BSL", "BSL", "ZRH"],
        "TI" | "FTZ" => &["ZRH", "ZRH", "GVA"],
        _ => &["ZRH"],
    }
}

/// Staff created for services and missions that the demo has no user for: given names and
/// surnames of Swiss counsellors and mission officers.
pub(crate) const STAFF_GIVEN: &[&str] = &[
    "Andrea", "Beat", "Claudia", "Daniel", "Esther", "Fabienne", "Gian", "Hanna", "Irène", "Jonas",
    "Katrin", "Laurent", "Martina", "Nicolas", "Olivia", "Patrick", "Regula", "Simon", "Tanja",
    "Urs", "Valérie", "Walter", "Yvonne", "Zoé",
];
pub(crate) const STAFF_SURNAMES: &[&str] = &[
    "Müller",
    "Meier",
    "Schmid",
    "Keller",
    "Weber",
    "Huber",
    "Schneider",
    "Favre",
    "Rossi",
    "Bianchi",
    "Gerber",
    "Brunner",
    "Baumann",
    "Fischer",
    "Moser",
    "Zimmermann",
    "Frei",
    "Graf",
    "Wyss",
    "Roth",
    "Perret",
    "Bonvin",
    "Steiner",
    "Suter",
];

pub(crate) const MEDICAL_SUMMARIES: &[&str] = &[
    "Type 2 diabetes, insulin-dependent; needs insulin for the first three months.",
    "Hypertension, treated; medication available in the country of return.",
    "Post-traumatic stress disorder; follow-up with a psychiatrist arranged.",
    "Chronic hepatitis B; antiviral treatment to continue after return.",
    "Epilepsy, stable under medication; supply for six months requested.",
    "Pregnancy, 24 weeks; fit to fly with a medical certificate.",
    "Asthma; inhalers for six months.",
    "Heart failure, stable; cardiology follow-up after return.",
    "Kidney disease; dialysis arranged at the destination hospital.",
    "Reduced mobility after an accident; wheelchair assistance at airports.",
];

pub(crate) const REVIEW_QUESTIONS: &[&str] = &[
    "Please send a copy of the signed declaration of voluntariness.",
    "Has the person received return assistance from another European state before?",
    "Please confirm the date of entry into Switzerland of the spouse.",
    "Please explain the business plan of the reintegration project in more detail.",
    "Is a medical report on fitness to travel available?",
    "Please confirm the household's assets as declared.",
    "Please state where the family will live after the return.",
];

pub(crate) const REVIEW_ANSWERS: &[&str] = &[
    "The signed declaration is attached to the case file.",
    "No prior assistance according to the person and to ZEMIS.",
    "The spouse entered Switzerland four months after the principal applicant.",
    "A detailed business plan with a cost estimate has been added.",
    "The medical report confirms fitness to travel without an escort.",
    "The household has no assets beyond personal belongings.",
    "The family will live with relatives in the home town.",
];

pub(crate) const RIF_QUESTIONS: &[&str] = &[
    "What does it cost to rent a two-room flat in the capital?",
    "Is insulin available in public hospitals, and at what price?",
    "Are there vocational training courses for tailoring in the home region?",
    "Can children enrol in school in the middle of the school year?",
    "Which documents are needed to register a small business?",
    "Is psychiatric follow-up available outside the capital?",
];

pub(crate) const RIF_ANSWERS: &[&str] = &[
    "About 250 to 400 US dollars a month, depending on the district.",
    "Insulin is available in public hospitals; a month's supply costs about 30 US dollars.",
    "Two NGOs run six-month tailoring courses; places are free of charge.",
    "Yes, with the child's birth certificate and previous school reports.",
    "An identity card, a lease for the premises and a registration fee of about 50 dollars.",
    "Only in the two largest cities; our mission can arrange referrals.",
];

pub(crate) const WITHDRAWAL_REASONS: &[&str] = &[
    "The person decided to stay with family in Switzerland.",
    "The person received a residence permit (hardship case).",
    "The person decided to travel on their own.",
    "The asylum procedure was reopened.",
    "The person no longer wishes to return.",
];

pub(crate) const NOTES: &[&str] = &[
    "First counselling interview held with an interpreter.",
    "The person wants to open a small shop in the home town.",
    "Documents for the travel permit requested from the embassy.",
    "Family members agree to return together.",
    "Second interview: questions about schooling for the children answered.",
    "Follow-up call: the person confirmed the wish to return.",
];

pub(crate) const APPROVAL_REASONS: &[&str] = &[
    "Eligible; amounts according to the tariff.",
    "Eligible; voluntariness and identity established.",
    "Eligible; reintegration project plausible.",
];

/// Legal grounds of rejections, with weights.
pub(crate) const REJECTION_GROUNDS: &[(&str, u32, &str)] = &[
    (
        "crime_or_repeated_offences",
        35,
        "Repeated criminal offences (AsylV 2 Art. 64 al. 1 let. a).",
    ),
    ("abuse", 20, "Obvious abuse of return assistance (AsylV 2 Art. 64 al. 1 let. b)."),
    ("sufficient_assets", 10, "The household has sufficient assets of its own."),
    ("already_received", 25, "Return assistance was already granted by another European state."),
    ("other", 10, "The conditions for return assistance are not met."),
];

/// Reasons of cancellations after approval, with weights.
pub(crate) const CANCEL_REASONS: &[(&str, u32, &str)] = &[
    ("absconded", 50, "The person's whereabouts are unknown."),
    ("revoked", 30, "The approval was revoked after new information."),
    ("deceased", 5, "The principal applicant died."),
    ("other", 15, "The return is no longer possible."),
];

pub(crate) const NO_SHOW_COMMENTS: &[&str] = &[
    "The person did not appear at the airport.",
    "Missed the flight; new booking requested by the counselling service.",
    "The person was ill on the day of departure.",
];

pub(crate) const DISBURSEMENT_PURPOSES: &[&str] = &[
    "Small shop: initial stock",
    "Livestock: two cows",
    "Vocational training: tailoring course",
    "Housing: three months' rent",
    "Taxi business: down payment for a vehicle",
    "Agriculture: seeds and tools",
    "Hairdressing salon: equipment",
    "Mobile phone repair: tools and spare parts",
    "Bakery: oven and ingredients",
    "School fees for the children",
];

pub(crate) const MONITORING_OUTCOMES: &[&str] = &[
    "The business is running and covers the household's basic needs.",
    "The project started late; income is still irregular.",
    "The person found employment and keeps the project as a second income.",
    "The family is housed; the children attend school.",
    "Difficulties with the local authorities; the mission helps with the permits.",
];

pub(crate) const OVERRIDE_JUSTIFICATION: &str =
    "Exceptional circumstances documented in the file justify an amount above the tariff.";
