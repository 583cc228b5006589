import Testing

@testable import Slides

@Suite struct SlideTableTests {
  @Test func slideTableParsesAndRejectsBadRows() throws {
    let text = """
      slide_id,label,split,tumour_fraction,survival_months,event,relational_label,note
      s1,1,train,0.25,12.5,1,0,"a, quoted"
      s2,0,test,0,80,0,1,plain
      """
    let table = try SlideTable.parse(text, path: "t.csv")
    #expect(table.records.count == 2)
    #expect(table.records[0].extra["note"] == "a, quoted")
    #expect(table.records[1].survivalMonths == 80 && table.records[1].event == 0)
    #expect(try SlideTable.parse(table.csv(), path: "again.csv") == table)
    let bad: [(String, String)] = [
      ("slide_id,split\ns1,train\n", "missing column 'label'"),
      ("slide_id,label\ns1,2\n", "label '2'"),
      ("slide_id,label\ns1,1\ns1,0\n", "appears twice"),
      ("slide_id,label\ns1,1,extra\n", "3 fields"),
      ("slide_id,label,tumour_fraction\ns1,1,lots\n", "tumour_fraction 'lots'"),
    ]
    for (csv, message) in bad {
      let error = #expect(throws: SlideTableError.self) { try SlideTable.parse(csv, path: "bad.csv") }
      #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
      #expect(error?.description.contains("bad.csv: line") == true)
    }
  }
}
